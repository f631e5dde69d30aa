import type { Router } from 'express';
import { z } from 'zod';
import { BadInputError, creditBody as credit, debitBody as debit, reverseOrderBody, type ReverseOrderResult } from '@loyalty/kit';
import type { Services } from '../context';
import { toLedgerTransaction } from './ledger.service';

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new BadInputError(issue.path.join('.'), issue.message);
  }
  return result.data;
}

/**
 * The internal ledger API: credit, debit and look-up by key, for services only. Bodies are parsed
 * with the schemas LedgerClient's types come from (ledger-api.ts in @loyalty/kit). Keys are scoped
 * per calling service, so they never collide with public keys, and a key's first outcome is final,
 * a refusal included: the callers' sagas compensate on a refusal, so no later retry with that key
 * may move points.
 */
export function ledgerRoutes(router: Router, services: Services): void {
  router.post('/ledger/credit', async (req, res) => {
    const body = parse(credit, req.body);
    const identity = req.identity!;
    const { entry } = await services.ledger.move({
      ...body,
      tenant: identity.tenant,
      expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      pendingUntil: body.pendingUntil ? new Date(body.pendingUntil) : null,
      orderId: body.orderId ?? null,
      scope: identity.principal,
      source: identity.principal,
      finalRefusals: true,
    });
    res.json({ transaction: toLedgerTransaction(entry) });
  });

  router.post('/ledger/debit', async (req, res) => {
    const body = parse(debit, req.body);
    const identity = req.identity!;
    const { entry } = await services.ledger.move({
      ...body,
      points: -body.points,
      tenant: identity.tenant,
      scope: identity.principal,
      source: identity.principal,
      finalRefusals: true,
    });
    res.json({ transaction: toLedgerTransaction(entry) });
  });

  router.post('/ledger/reverse-order', async (req, res) => {
    const body = parse(reverseOrderBody, req.body);
    const identity = req.identity!;
    const result = await services.ledger.reverseOrder({ ...body, tenant: identity.tenant, scope: identity.principal, source: identity.principal });
    const reply: ReverseOrderResult = {
      transaction: result.entry && toLedgerTransaction(result.entry),
      reversed: result.reversed,
      unrecovered: result.unrecovered,
    };
    res.json(reply);
  });

  router.get('/ledger/transactions/by-key/:key', async (req, res) => {
    const identity = req.identity!;
    const entry = await services.ledger.findByKey(identity.tenant, identity.principal, req.params.key);
    if (entry) res.json({ transaction: toLedgerTransaction(entry) });
    else res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No transaction with this key' } });
  });

  /** The sum of the tenant's balances: what analytics' pointsOutstanding must equal. */
  router.get('/ledger/outstanding', async (req, res) => {
    res.json({ outstanding: await services.ledger.outstanding(req.identity!.tenant) });
  });
}
