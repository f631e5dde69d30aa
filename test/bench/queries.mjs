// GraphQL documents more than one bench sends.

export const DASHBOARD_QUERY = `query Dashboard($id: ID!) {
  member(id: $id) {
    points { balance }
    tier { name }
    tierProgress { qualifyingPoints pointsToNext next { name } }
    transactions(first: 10) { edges { node { id type points balanceAfter createdAt } } }
  }
}`;

export const ADJUST_MUTATION = `mutation Adjust($input: AdjustPointsInput!) {
  adjustPoints(input: $input) { id balanceAfter }
}`;

export const REDEEM_MUTATION = `mutation Redeem($input: RedeemRewardInput!) {
  redeemReward(input: $input) { id status code }
}`;

export const CATALOG_QUERY = `{ rewards(first: 50) { totalCount edges { node { id name type costPoints stock } } } }`;

export const ENROLL_MUTATION = `mutation Enroll($input: EnrollMemberInput!) {
  enrollMember(input: $input) { id }
}`;

