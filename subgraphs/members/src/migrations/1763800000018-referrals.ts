import type { MigrationInterface, QueryRunner } from 'typeorm';
import { READABLE_ALPHABET } from '@loyalty/kit';

/**
 * Referrals: every member has a referral code (8 symbols of the readable alphabet, stored as
 * XXXX-XXXX, unique per tenant) and may name the member that referred it at enrolment.
 * Existing members get a code here: random candidates, drawn again for the rare duplicate until
 * every code of a tenant is unique. Enrolment draws its codes from the CSPRNG; a row inserted by
 * SQL without one (an import, a bulk load) gets one from the trigger, drawn until it is free in
 * the tenant. (These codes are shared openly, not secrets: random() is enough for those.)
 * The link is set once, at enrolment, to a member enrolled before: it can never point to the member
 * itself (CHECK) nor form a loop.
 */
export class Referrals1763800000018 implements MigrationInterface {
  name = 'Referrals1763800000018';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE members
        ADD COLUMN referral_code text,
        ADD COLUMN referred_by uuid REFERENCES members (id),
        ADD CONSTRAINT members_not_self_referred CHECK (referred_by <> id);
      CREATE FUNCTION referral_code_candidate() RETURNS text LANGUAGE sql VOLATILE AS $$
        SELECT substr(s, 1, 4) || '-' || substr(s, 5, 4)
        FROM (SELECT string_agg(substr('${READABLE_ALPHABET}', 1 + floor(random() * ${READABLE_ALPHABET.length})::int, 1), '') AS s
              FROM generate_series(1, 8)) c
      $$;
      UPDATE members SET referral_code = referral_code_candidate();
    `);
    for (;;) {
      const [, redrawn] = await runner.query(`
        UPDATE members SET referral_code = referral_code_candidate()
        WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY tenant, referral_code ORDER BY id) AS n FROM members) d WHERE n > 1)
      `) as [unknown, number];
      if (redrawn === 0) break;
    }
    await runner.query(`
      ALTER TABLE members ALTER COLUMN referral_code SET NOT NULL;
      CREATE UNIQUE INDEX members_tenant_referral_code ON members (tenant, referral_code);
      CREATE INDEX members_referred_by ON members (referred_by) WHERE referred_by IS NOT NULL;
      CREATE FUNCTION members_referral_code() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        LOOP
          NEW.referral_code := referral_code_candidate();
          EXIT WHEN NOT EXISTS (SELECT 1 FROM members WHERE tenant = NEW.tenant AND referral_code = NEW.referral_code);
        END LOOP;
        RETURN NEW;
      END $$;
      CREATE TRIGGER members_referral_code BEFORE INSERT ON members FOR EACH ROW WHEN (NEW.referral_code IS NULL) EXECUTE FUNCTION members_referral_code();
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TRIGGER members_referral_code ON members;
      DROP FUNCTION members_referral_code(), referral_code_candidate();
      DROP INDEX members_referred_by, members_tenant_referral_code;
      ALTER TABLE members DROP CONSTRAINT members_not_self_referred, DROP COLUMN referred_by, DROP COLUMN referral_code;
    `);
  }
}
