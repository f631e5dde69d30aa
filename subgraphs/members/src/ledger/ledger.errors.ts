import { DomainError } from '@loyalty/kit';

export class InsufficientPointsError extends DomainError {
  constructor(balance: number, requested: number) {
    super('INSUFFICIENT_POINTS', `The balance (${balance}) does not cover ${requested} points`, 'points');
  }
}
