#!/usr/bin/env node
// `npm run token -- --role admin --tenant demo [--member <id>] [--sub <principal>] [--expires 12h]`
// Prints a JWT signed with JWT_SECRET (or the secret `npm start` generated in .data/secrets.json).
import { join } from 'node:path';
import { fail, parseCli } from './cli.mjs';
import { kit, root } from './system.mjs';

/** The roles a person or a server may hold in a token (`service` is for services, `partner` for API keys). */
const TOKEN_ROLES = ['admin', 'marketer', 'agent', 'integration', 'member'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const USAGE = `Usage: npm run token -- [options]

Prints a JWT for the API (Authorization: Bearer <token>).

Options:
  --role <role>      ${TOKEN_ROLES.join(', ')} (default admin; repeat or comma-separate for several)
  --tenant <id>      the tenant (default demo)
  --member <id>      the member id a member token acts as (required with --role member)
  --sub <principal>  the principal id (default <role>@<tenant>)
  --expires <time>   lifetime, e.g. 30m, 12h, 7d (default 12h)
  -h, --help         this text

The token is signed with JWT_SECRET, or with the secret \`npm start\` keeps in .data/secrets.json
(DATA_DIR); with NODE_ENV=production, JWT_SECRET must be set.`;

const values = parseCli(USAGE, {
  role: { type: 'string', multiple: true, default: ['admin'] },
  tenant: { type: 'string', default: 'demo' },
  member: { type: 'string' },
  sub: { type: 'string' },
  expires: { type: 'string', default: '12h' },
});

const roles = values.role.flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
const unknown = roles.filter((role) => !TOKEN_ROLES.includes(role));
if (roles.length === 0) fail(USAGE, '--role needs a value');
if (unknown.length) fail(USAGE, `unknown role ${unknown.join(', ')}; use one of ${TOKEN_ROLES.join(', ')}`);
if (!values.tenant.trim()) fail(USAGE, '--tenant needs a value');
if (roles.includes('member') && !values.member) fail(USAGE, '--role member needs --member <member id>');
if (values.member && !UUID.test(values.member)) fail(USAGE, `--member must be a member id (a UUID), got "${values.member}"`);

let secret;
try {
  secret = kit.resolveSecret('JWT_SECRET', process.env.JWT_SECRET, {
    production: process.env.NODE_ENV === 'production',
    dataDir: process.env.DATA_DIR ?? join(root, '.data'),
  });
} catch (error) {
  console.error(`error: ${error.message}`);
  process.exit(2);
}
const claims = { sub: values.sub ?? `${roles[0]}@${values.tenant}`, tenant: values.tenant, roles, ...(values.member ? { memberId: values.member } : {}) };
const token = await kit.signUserToken(claims, secret, values.expires).catch(() =>
  fail(USAGE, `--expires must be a duration such as 30m, 12h or 7d, got "${values.expires}"`),
);
console.log(token);
