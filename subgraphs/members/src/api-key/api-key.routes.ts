import type { Router } from 'express';
import type { Services } from '../context';

/** For the gateway: resolves an `x-api-key` secret to its tenant and scopes (404 when unknown, revoked or expired). */
export function apiKeyRoutes(router: Router, services: Services): void {
  router.post('/api-keys/verify', async (req, res) => {
    const secret = (req.body as { secret?: unknown }).secret;
    const key = typeof secret === 'string' && secret.length <= 200 ? await services.apiKeys.verify(secret) : null;
    if (key) res.json({ apiKey: key });
    else res.status(404).json({ error: { code: 'UNAUTHENTICATED', message: 'Unknown, revoked or expired API key' } });
  });
}
