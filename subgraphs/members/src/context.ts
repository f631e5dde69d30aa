import DataLoader from 'dataloader';
import type { AuditLog, RequestContext } from '@loyalty/kit';
import type { ApiKeyService } from './api-key/api-key.service';
import type { LedgerEntryEntity, PointAccountEntity } from './ledger/ledger.entity';
import type { LedgerRepository } from './ledger/ledger.repository';
import type { LedgerService } from './ledger/ledger.service';
import type { LifecycleService } from './ledger/lifecycle.service';
import type { MemberEntity } from './member/member.entity';
import type { MemberRepository } from './member/member.repository';
import type { MemberService } from './member/member.service';
import type { ProgramService } from './program/program.service';
import type { SegmentService } from './segment/segment.service';
import { toSegment, type Segment } from './segment/segment.type';
import type { TierEntity } from './tier/tier.entity';
import type { TierRepository } from './tier/tier.repository';
import type { TierService } from './tier/tier.service';
import type { TransferService } from './transfer/transfer.service';

/** Process-wide: created once in main.ts. */
export interface Services {
  members: MemberService;
  tiers: TierService;
  ledger: LedgerService;
  lifecycle: LifecycleService;
  apiKeys: ApiKeyService;
  programs: ProgramService;
  segments: SegmentService;
  transfers: TransferService;
  memberRepository: MemberRepository;
  ledgerRepository: LedgerRepository;
  tierRepository: TierRepository;
  audit: AuditLog;
}

interface EntriesKey {
  memberId: string;
  first: number;
  beforeSeq?: string;
}

/** Per request: every list or reference field goes through one of these, so SQL does not grow with lists. */
export function createLoaders(services: Services, tenant: string) {
  const { memberRepository, ledgerRepository, tierRepository } = services;
  const grouped = <K extends { memberId: string }, V>(group: (key: K) => string, load: (sample: K, ids: string[]) => Promise<Map<string, V>>, fallback: V) =>
    new DataLoader<K, V, string>(
      async (keys) => {
        const groups = new Map<string, K[]>();
        for (const key of keys) groups.set(group(key), [...(groups.get(group(key)) ?? []), key]);
        const results = new Map<string, V>();
        await Promise.all(
          [...groups.entries()].map(async ([name, members]) => {
            const values = await load(members[0]!, [...new Set(members.map((k) => k.memberId))]);
            for (const key of members) results.set(`${name}|${key.memberId}`, values.get(key.memberId) ?? fallback);
          }),
        );
        return keys.map((key) => results.get(`${group(key)}|${key.memberId}`) ?? fallback);
      },
      { cacheKeyFn: (key) => `${group(key)}|${key.memberId}` },
    );

  return {
    member: new DataLoader<string, MemberEntity | null>((ids) => memberRepository.findByIds(tenant, ids)),
    account: new DataLoader<string, PointAccountEntity | null>((ids) => ledgerRepository.accounts(tenant, ids)),
    tiers: new DataLoader<'all', TierEntity[]>(async (keys) => {
      const tiers = await tierRepository.list(tenant);
      return keys.map(() => tiers);
    }),
    qualifying: new DataLoader<string, number>(async (ids) => {
      const points = await services.tiers.qualifyingPoints(tenant, ids);
      return ids.map((id) => points.get(id) ?? 0);
    }),
    nextExpiry: new DataLoader<string, { points: number; expiresAt: Date } | null>(async (ids) => {
      const next = await ledgerRepository.nextExpiry(tenant, ids);
      return ids.map((id) => next.get(id) ?? null);
    }),
    expiring: grouped<{ memberId: string; days: number }, number>(
      (key) => String(key.days),
      (sample, ids) => ledgerRepository.expiring(tenant, ids, sample.days),
      0,
    ),
    entries: grouped<EntriesKey, LedgerEntryEntity[]>(
      (key) => `${key.first}:${key.beforeSeq ?? ''}`,
      (sample, ids) => ledgerRepository.latestEntries(tenant, ids, sample.first, sample.beforeSeq),
      [],
    ),
    erasure: new DataLoader<string, { requestedAt: Date; completedAt: Date | null; confirmedBy: string[] } | null>(async (ids) => {
      const erasures = await memberRepository.erasures(tenant, ids);
      return ids.map((id) => erasures.get(id) ?? null);
    }),
    entry: new DataLoader<string, LedgerEntryEntity | null>((ids) => ledgerRepository.entriesByIds(tenant, ids)),
    segmentMemberCount: new DataLoader<Segment, number, string>(
      async (segments) => {
        const counts = await services.segments.memberCounts(tenant, segments);
        return segments.map((segment) => counts.get(segment.id) ?? 0);
      },
      { cacheKeyFn: (segment) => segment.id },
    ),
    memberSegments: new DataLoader<string, Segment[]>(async (ids) => {
      const segments = await services.segments.segmentsOf(tenant, ids);
      return ids.map((id) => (segments.get(id) ?? []).map(toSegment));
    }),
    entryCount: new DataLoader<string, number>(async (ids) => {
      const counts = await ledgerRepository.entryCounts(tenant, ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface MembersContext extends RequestContext {
  services: Services;
  loaders: Loaders;
}
