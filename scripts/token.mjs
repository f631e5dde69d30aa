#!/usr/bin/env node
// `npm run token -- --role admin --tenant demo [--member <id>] [--sub <principal>] [--expires 12h]`
// Prints a JWT signed with JWT_SECRET (or the secret `npm start` generated in .data/secrets.json).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kit, root } from './system.mjs';

const { values } = parseArgs({
  options: {
    role: { type: 'string', multiple: true, default: ['admin'] },
    tenant: { type: 'string', default: 'demo' },
    member: { type: 'string' },
    sub: { type: 'string' },
    expires: { type: 'string', default: '12h' },
  },
});
const secret = kit.resolveSecret('JWT_SECRET', process.env.JWT_SECRET, {
  production: process.env.NODE_ENV === 'production',
  dataDir: process.env.DATA_DIR ?? join(root, '.data'),
});
const roles = values.role.flatMap((r) => r.split(','));
const token = await kit.signUserToken(
  { sub: values.sub ?? `${roles[0]}@${values.tenant}`, tenant: values.tenant, roles, ...(values.member ? { memberId: values.member } : {}) },
  secret,
  values.expires,
);
console.log(token);
