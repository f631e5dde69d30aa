import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may be sent (server-side request forgery). Pure checks on a URL and on addresses,
 * and the DNS lookup the dispatcher connects through, which applies the address check to what a
 * name resolves to at connection time (so a name that resolved to a public address when the
 * endpoint was created and to 10.0.0.1 now — DNS rebinding — is refused).
 *
 * Address ranges come from ipaddr.js (the library Express's proxy-addr uses): it names every
 * special-purpose range of the IANA registries, IPv4 and IPv6, and unwraps IPv4-mapped IPv6.
 */

export const MAX_URL_LENGTH = 2048;

export interface UrlRules {
  /** NODE_ENV=production: https only, and only public addresses. */
  production: boolean;
}

/**
 * The range of an address that webhooks may not reach ('loopback', 'private', 'linkLocal',
 * 'uniqueLocal', 'ipv4Mapped' of one of those, …), or null for a public unicast address. Anything
 * ipaddr.js does not call plain 'unicast' is refused: multicast, reserved, carrier-grade NAT,
 * documentation, 6to4 and Teredo (which can embed any IPv4 address) included.
 */
export function forbiddenRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'invalid';
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address it maps.
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

/** A URL's host as an IP literal (without IPv6 brackets), or null for a name. */
function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}

/**
 * Why `url` may not be a webhook endpoint, or null when it may (before DNS: names are checked
 * after resolution, `refusedAddress`). Only http(s), at most 2,048 characters, no credentials in
 * it; in production https only and no IP literal outside public unicast.
 */
export function urlProblem(url: string, rules: UrlRules): string | null {
  if (url.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'url must be an absolute http(s) URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'url must use http or https';
  if (rules.production && parsed.protocol !== 'https:') return 'url must use https';
  if (parsed.username || parsed.password) return 'url must not contain credentials';
  if (!parsed.hostname) return 'url must name a host';
  if (rules.production) {
    const literal = ipLiteral(parsed.hostname);
    if (literal) {
      const range = forbiddenRange(literal);
      if (range) return `url must not point at a ${range} address`;
    } else if (parsed.hostname === 'localhost' || parsed.hostname.endsWith('.localhost')) {
      return 'url must not point at a loopback address';
    }
  }
  return null;
}

/** Why none of the addresses a host resolves to may be reached, or null when all are public. */
export function refusedAddress(addresses: readonly string[]): string | null {
  if (addresses.length === 0) return 'url does not resolve to an address';
  for (const address of addresses) {
    const range = forbiddenRange(address);
    if (range) return `url resolves to ${address}, a ${range} address`;
  }
  return null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * `dns.lookup` for the dispatcher's connections in production: resolves every address of the name
 * and refuses the connection when any of them is not public, before a socket is opened.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const problem = refusedAddress(addresses.map((a) => a.address));
    if (problem) return callback(Object.assign(new Error(`refused: ${hostname} ${problem.replace(/^url /, '')}`), { code: 'EADDRNOTPUBLIC' }), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
