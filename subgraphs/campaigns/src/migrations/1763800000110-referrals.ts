import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Referrals: REFERRAL activities (made by the system for a referrer, never sent by a client), and
 * one referral reward per referred member, written in the transaction that stores its first
 * PURCHASE. PENDING until the referrer's REFERRAL activity is stored (DONE, with its id) or found
 * impossible (SKIPPED: the referrer was erased); the retry job completes those a crash or an
 * unreachable members subgraph left PENDING. Its key makes a second "first" purchase, even a
 * concurrent one, find the reward taken.
 */
export class Referrals1763800000110 implements MigrationInterface {
  name = 'Referrals1763800000110';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE activities DROP CONSTRAINT activities_type_check,
        ADD CONSTRAINT activities_type_check CHECK (type IN ('PURCHASE', 'CUSTOM_EVENT', 'REFERRAL'));
      CREATE TABLE referral_rewards (
        tenant text NOT NULL,
        referred_member_id uuid NOT NULL,
        referrer_id uuid NOT NULL,
        purchase_activity_id uuid NOT NULL REFERENCES activities (id),
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'SKIPPED')),
        activity_id uuid REFERENCES activities (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, referred_member_id),
        CHECK (referrer_id <> referred_member_id),
        CHECK ((status = 'DONE') = (activity_id IS NOT NULL))
      );
      CREATE INDEX referral_rewards_pending ON referral_rewards (created_at) WHERE status = 'PENDING';
      CREATE INDEX referral_rewards_referrer ON referral_rewards (tenant, referrer_id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE referral_rewards;
      DELETE FROM activity_awards WHERE activity_id IN (SELECT id FROM activities WHERE type = 'REFERRAL');
      DELETE FROM activities WHERE type = 'REFERRAL';
      ALTER TABLE activities DROP CONSTRAINT activities_type_check,
        ADD CONSTRAINT activities_type_check CHECK (type IN ('PURCHASE', 'CUSTOM_EVENT'));
    `);
  }
}
