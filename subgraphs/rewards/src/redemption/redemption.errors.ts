import { DomainError } from '@loyalty/kit';

export class OutOfStockError extends DomainError {
  constructor() {
    super('OUT_OF_STOCK', 'This reward is out of stock', 'rewardId');
  }
}
export class RewardUnavailableError extends DomainError {
  constructor(why: string) {
    super('REWARD_UNAVAILABLE', why, 'rewardId');
  }
}
export class NotEligibleError extends DomainError {
  constructor(why: string, field = 'memberId') {
    super('NOT_ELIGIBLE', why, field);
  }
}
