import { DomainError } from '@loyalty/kit';

/** A suspended member takes no part in a transfer, sending or receiving (docs/api.md: NOT_ELIGIBLE, member suspended). */
export class SuspendedMemberError extends DomainError {
  constructor(field: 'fromMemberId' | 'toMemberId') {
    super('NOT_ELIGIBLE', `The ${field === 'fromMemberId' ? 'sending' : 'receiving'} member is suspended`, field);
  }
}
