import { Arg, Args, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { JSONScalar, PageArgs, gate } from '@loyalty/kit';
import { access } from '../access';
import type { AnalyticsContext } from '../context';
import { AuditEntry, AuditEntryConnection, AuditFilter } from './compliance.type';

@Resolver(() => AuditEntry)
export class ComplianceResolver {
  @Authorized(access['Query.auditLog'])
  @Query(() => AuditEntryConnection, { description: 'Every staff and API-key mutation of every subgraph, newest first' })
  auditLog(
    @Arg('filter', () => AuditFilter, { nullable: true }) filter: AuditFilter | null,
    @Args(() => PageArgs) { first, after }: PageArgs,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<AuditEntryConnection> {
    return services.compliance.auditLog(identity, filter, first ?? 20, after ?? null);
  }

  @Authorized(gate(access['Query.memberDataExport']))
  @Query(() => JSONScalar, { description: 'Everything every subgraph holds about the member, as one JSON document (GDPR Art. 15 and 20)' })
  memberDataExport(@Arg('memberId', () => ID) memberId: string, @Ctx() { identity, services }: AnalyticsContext): Promise<Record<string, unknown>> {
    return services.compliance.memberDataExport(identity, memberId);
  }
}
