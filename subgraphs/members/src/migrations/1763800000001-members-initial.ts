import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OUTBOX_TABLE_SQL } from '@loyalty/kit';

/**
 * Members, tiers, the points ledger and API keys. The ledger is append-only (a trigger refuses
 * UPDATE and DELETE); balances are maintained in point_accounts with a CHECK that they never go
 * below zero, so even a bug above the database cannot overdraw an account.
 */
export class MembersInitial1763800000001 implements MigrationInterface {
  name = 'MembersInitial1763800000001';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE tiers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        name text NOT NULL,
        rank integer NOT NULL CHECK (rank >= 0),
        qualifying_points integer NOT NULL CHECK (qualifying_points >= 0),
        earn_multiplier numeric(8, 4) NOT NULL CHECK (earn_multiplier > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant, rank)
      );

      CREATE TABLE members (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        email text NOT NULL,
        name text,
        country char(2),
        external_id text,
        attributes jsonb NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED')),
        tier_id uuid REFERENCES tiers (id),
        enrolled_at timestamptz(3) NOT NULL DEFAULT now(), -- millisecond precision: cursors carry it exactly
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX members_tenant_email ON members (tenant, lower(email));
      CREATE UNIQUE INDEX members_tenant_external_id ON members (tenant, external_id) WHERE external_id IS NOT NULL;
      CREATE INDEX members_tenant_enrolled ON members (tenant, enrolled_at, id);
      CREATE INDEX members_tenant_tier ON members (tenant, tier_id);

      CREATE TABLE point_accounts (
        member_id uuid PRIMARY KEY REFERENCES members (id),
        tenant text NOT NULL,
        balance integer NOT NULL DEFAULT 0 CHECK (balance >= 0),
        pending integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
        lifetime_earned integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE ledger_entries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigserial NOT NULL UNIQUE,
        tenant text NOT NULL,
        member_id uuid NOT NULL REFERENCES members (id),
        type text NOT NULL CHECK (type IN ('EARN', 'REDEEM', 'EXPIRE', 'ADJUST', 'REVERSAL')),
        points integer NOT NULL CHECK (points <> 0),
        balance_after integer NOT NULL CHECK (balance_after >= 0),
        reason text,
        reference text,
        source text NOT NULL,
        idempotency_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz
      );
      CREATE INDEX ledger_entries_member ON ledger_entries (member_id, seq DESC);
      CREATE INDEX ledger_entries_member_earn ON ledger_entries (member_id, created_at) WHERE type = 'EARN';

      CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger_entries is append-only';
      END $$;
      CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

      -- What a credit left to spend. Debits draw from lots soonest-expiry-first; a pending lot
      -- (pending_until in the future) counts in point_accounts.pending, not in the balance.
      CREATE TABLE point_lots (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        member_id uuid NOT NULL REFERENCES members (id),
        entry_id uuid NOT NULL REFERENCES ledger_entries (id),
        points integer NOT NULL CHECK (points > 0),
        remaining integer NOT NULL CHECK (remaining >= 0 AND remaining <= points),
        expires_at timestamptz,
        pending_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX point_lots_open ON point_lots (member_id, expires_at, created_at) WHERE remaining > 0;

      -- Which lots each debit drew from, and how much.
      CREATE TABLE lot_allocations (
        entry_id uuid NOT NULL REFERENCES ledger_entries (id),
        lot_id uuid NOT NULL REFERENCES point_lots (id),
        points integer NOT NULL CHECK (points > 0),
        PRIMARY KEY (entry_id, lot_id)
      );

      -- One row per (tenant, scope, key): scope separates the public API's keys from each service's.
      CREATE TABLE idempotency_keys (
        tenant text NOT NULL,
        scope text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        entry_id uuid REFERENCES ledger_entries (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, scope, key)
      );

      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        name text NOT NULL,
        scopes text[] NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      );
      CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);

      CREATE TABLE seeds (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
    `);
    await runner.query(OUTBOX_TABLE_SQL);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE outbox, seeds, api_keys, idempotency_keys, lot_allocations, point_lots;
      DROP TABLE ledger_entries; DROP FUNCTION ledger_entries_append_only();
      DROP TABLE point_accounts, members, tiers;
    `);
  }
}
