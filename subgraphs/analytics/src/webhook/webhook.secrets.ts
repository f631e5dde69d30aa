import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Endpoint signing secrets. Shown to the admin once (create, rotate); stored encrypted with
 * AES-256-GCM under a key derived (HKDF-SHA256) from SERVICE_SECRET, so a copy of the analytics
 * database alone cannot forge signatures. Changing SERVICE_SECRET makes stored secrets unreadable:
 * rotate every endpoint's secret afterwards.
 */
export class WebhookSecrets {
  private readonly key: Buffer;
  /** Decrypted secrets by ciphertext: a dispatcher signs many deliveries per endpoint. */
  private readonly cache = new Map<string, string>();

  constructor(serviceSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', serviceSecret, 'loyalty-webhooks', 'webhook signing secrets v1', 32));
  }

  /** A new secret: 32 random bytes, prefixed so it is recognisable in a configuration file. */
  generate(): string {
    return `whsec_${randomBytes(32).toString('base64url')}`;
  }

  encrypt(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
  }

  decrypt(stored: string): string {
    const cached = this.cache.get(stored);
    if (cached) return cached;
    if (!stored.startsWith('v1.')) throw new Error('Unknown webhook secret format');
    const raw = Buffer.from(stored.slice(3), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const secret = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(stored, secret);
    return secret;
  }
}
