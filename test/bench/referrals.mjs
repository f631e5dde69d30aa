// Referrals must not cost the tills their speed: a referred member's purchases check for the
// referral reward in the purchase's transaction, and its first purchase also records and credits
// the referrer's REFERRAL activity. Measured in the same run, through the gateway, at concurrency 10:
//
// 1. later purchases: recordActivity for 200 referred members (their first purchase made before)
//    against 200 unreferred members, same campaign and purchases, alternated in rounds;
// 2. first purchases: one purchase each of 300 referred members (by 30 referrers) against one each
//    of 300 unreferred members, timed end to end; then the referrers' balances are checked.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { kit, log, runBench } from './harness.mjs';
import { alternate, graphql, inParallel, purchasePhase, startCampaign } from './load.mjs';

export const REFERRAL_TARGETS = { laterPurchaseRatio: 0.9, firstPurchaseRatio: 0.5 };
const STEADY_MEMBERS = 200;
const FIRST_MEMBERS = 300;
const REFERRERS = 30;
const CONNECTIONS = 10;
const REFERRAL_POINTS = 500;

const ENROLL = 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id referralCode } }';
const RECORD = 'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }';

const CAMPAIGN = {
  name: 'Referral bench',
  budget: { maxPoints: 2_000_000_000 },
  rules: [
    { name: 'per 1.00', trigger: 'PURCHASE', calculation: 'PER_AMOUNT', points: 1, amountStep: 100 },
    { name: 'friend', trigger: 'REFERRAL', calculation: 'FIXED', points: REFERRAL_POINTS, maxPointsPerMember: 1_000_000_000, capPeriod: 'LIFETIME' },
  ],
};

async function tenant(system, name) {
  const id = `bench-referrals-${name}-${randomUUID().slice(0, 8)}`;
  const headers = { authorization: `Bearer ${await kit.signUserToken({ sub: 'bench-referrals', tenant: id, roles: ['admin'] }, system.secrets.JWT_SECRET)}` };
  const call = (query, variables) => graphql(system.gatewayUrl, headers, query, variables);
  await startCampaign(system.gatewayUrl, headers, CAMPAIGN);
  const enroll = async (count, referralCodes = []) => {
    const members = new Array(count);
    await inParallel(count, CONNECTIONS, async (i) => {
      const referralCode = referralCodes.length > 0 ? referralCodes[i % referralCodes.length] : undefined;
      members[i] = (await call(ENROLL, { input: { email: `bench+${name}-${randomUUID()}@example.com`, referralCode } })).enrollMember;
    });
    return members;
  };
  const purchase = (memberId) => call(RECORD, { input: { memberId, type: 'PURCHASE', amount: 2500, currency: 'EUR', idempotencyKey: `bench:${randomUUID()}` } });
  return { headers, call, enroll, purchase };
}

async function timedFirstPurchases(t, members) {
  const started = performance.now();
  await inParallel(members.length, CONNECTIONS, async (i) => {
    const { recordActivity } = await t.purchase(members[i].id);
    if (recordActivity.pointsEarned !== 25) throw new Error(`referral bench: a first purchase earned ${recordActivity.pointsEarned}`);
  });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, rps: members.length / seconds };
}

export async function runReferralBench({ system, rounds, seconds }) {
  log(`referrals: later purchases of ${STEADY_MEMBERS} referred members against ${STEADY_MEMBERS} unreferred…`);
  const plain = await tenant(system, 'plain');
  const referred = await tenant(system, 'referred');
  const plainMembers = await plain.enroll(STEADY_MEMBERS);
  const [referrer] = await referred.enroll(1);
  const referredMembers = await referred.enroll(STEADY_MEMBERS, [referrer.referralCode]);
  // Their first purchases, so the measured ones are later purchases.
  await inParallel(STEADY_MEMBERS, CONNECTIONS, (i) => referred.purchase(referredMembers[i].id));
  const phase = (name, t, members) =>
    purchasePhase({
      name,
      url: system.gatewayUrl,
      headers: t.headers,
      memberIds: members.map((m) => m.id),
      query: RECORD,
      connections: CONNECTIONS,
      check: (body) => body.data?.recordActivity?.pointsEarned === 25,
    });
  const [unreferredLater, referredLater] = await alternate(
    phase('recordActivity, unreferred members', plain, plainMembers),
    phase('recordActivity, referred members (later purchases)', referred, referredMembers),
    { rounds, seconds },
  );

  log(`referrals: first purchases of ${FIRST_MEMBERS} referred members (by ${REFERRERS} referrers) against ${FIRST_MEMBERS} unreferred…`);
  const firstPlain = await tenant(system, 'first-plain');
  const firstReferred = await tenant(system, 'first-referred');
  const referrers = await firstReferred.enroll(REFERRERS);
  const friends = await firstReferred.enroll(FIRST_MEMBERS, referrers.map((r) => r.referralCode));
  const strangers = await firstPlain.enroll(FIRST_MEMBERS);
  const withoutReferral = await timedFirstPurchases(firstPlain, strangers);
  const withReferral = await timedFirstPurchases(firstReferred, friends);
  // Every referrer got its reward for each friend, once.
  let credited = 0;
  await inParallel(REFERRERS, CONNECTIONS, async (i) => {
    const { member } = await firstReferred.call('query($id: ID!) { member(id: $id) { points { balance } } }', { id: referrers[i].id });
    credited += member.points.balance;
  });
  const expected = FIRST_MEMBERS * REFERRAL_POINTS;
  if (credited !== expected) throw new Error(`referral bench: referrers hold ${credited} points, expected ${expected}`);
  return {
    later: { unreferred: unreferredLater, referred: referredLater, ratio: referredLater.rps / unreferredLater.rps },
    first: { without: withoutReferral, with: withReferral, ratio: withReferral.rps / withoutReferral.rps, credited },
  };
}

export function printReferrals({ later, first }, verdict) {
  const { laterPurchaseRatio, firstPurchaseRatio } = REFERRAL_TARGETS;
  console.log(
    `recordActivity referred ÷ unreferred, later purchases (c=${CONNECTIONS}): ${later.ratio.toFixed(2)} (${later.referred.rps.toFixed(0)} vs ${later.unreferred.rps.toFixed(0)} req/s)  target ≥ ${laterPurchaseRatio.toFixed(2)}   ${verdict(later.ratio >= laterPurchaseRatio)}`,
  );
  console.log(
    `first purchases with the referral reward ÷ without (c=${CONNECTIONS}, ${FIRST_MEMBERS} each): ${first.ratio.toFixed(2)} (${first.with.rps.toFixed(0)} vs ${first.without.rps.toFixed(0)} purchases/s)  target ≥ ${firstPurchaseRatio.toFixed(2)}   ${verdict(first.ratio >= firstPurchaseRatio)}`,
  );
  console.log(`  referrers credited ${first.credited} points for ${FIRST_MEMBERS} friends, once each`);
}

// Run alone: `npm run bench:referrals` (run.mjs runs it among the rest, with the same targets).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const referrals = await runReferralBench({ system, rounds: 4, seconds: 12 });
    console.log('');
    printReferrals(referrals, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
