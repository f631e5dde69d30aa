import { ArgsType, Directive, Field, InputType, Int, ObjectType, type ClassType } from 'type-graphql';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { BadInputError } from './errors';
import { UUID } from './ids';

@ObjectType()
@Directive('@shareable')
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  cursorOf: (node: T) => string;
  count: () => Promise<number>;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  totalCount(): Promise<number>;
}

/**
 * A Relay connection type for `node` (`{ edges { cursor node } pageInfo totalCount }`).
 * `totalCount` runs its COUNT only when a client selects it.
 */
export function ConnectionType<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass implements Connection<T> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    count!: () => Promise<number>;

    @Field(() => Int)
    totalCount(): Promise<number> {
      return this.count();
    }

    static from(page: Page<T>): ConnectionClass {
      const connection = new ConnectionClass();
      connection.edges = page.nodes.map((node) => ({ cursor: page.cursorOf(node), node }));
      connection.pageInfo = {
        hasNextPage: page.hasNextPage,
        endCursor: connection.edges.at(-1)?.cursor ?? null,
      };
      connection.count = page.count;
      return connection;
    }
  }
  return ConnectionClass;
}

/** `first` and `after` of a Relay connection field (`@Args(() => PageArgs)`). */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20 })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}

/** A time range of a report or a simulation; either end may be open where the field says so. */
@InputType()
export class DateRangeInput {
  @Field(() => Date, { nullable: true, description: 'inclusive start (reports count whole UTC days)' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'inclusive end (reports count whole UTC days)' })
  to?: Date | null;
}

export const MAX_PAGE_SIZE = 100;

/** Validates `first`: 0..100 (docs/api.md, Conventions: default 20). */
export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new BadInputError('first', `first must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return first;
}

/** Cursors are opaque to clients: base64url of the keyset values of the last row seen. */
export function encodeCursor(values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const BIGINT_MAX = 2n ** 63n - 1n;

/**
 * What one keyset value of a cursor must be. A cursor is only ever one we issued, but a client can
 * forge one; each value is checked against what its column holds, so a forged cursor is
 * BAD_USER_INPUT and never reaches SQL (where 'x' as a timestamp would be an internal error).
 */
export type CursorPart = 'timestamp' | 'uuid' | 'bigint' | 'string' | 'number';

const CURSOR_PARTS: Record<CursorPart, (value: unknown) => boolean> = {
  timestamp: (v) => typeof v === 'string' && ISO_TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString().slice(0, 19) === v.slice(0, 19),
  uuid: (v) => typeof v === 'string' && UUID.test(v),
  bigint: (v) => typeof v === 'string' && /^\d{1,19}$/.test(v) && BigInt(v) <= BIGINT_MAX,
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
};

export function decodeCursor(cursor: string | undefined | null, shape: CursorPart[]): (string | number)[] | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === shape.length && values.every((v, i) => CURSOR_PARTS[shape[i]!](v))) {
      return values as (string | number)[];
    }
  } catch {
    // fall through: malformed
  }
  throw new BadInputError('after', 'after is not a cursor returned by this API');
}

/** The keyset of a list in (timestamp, id) order, as a cursor carries it. */
export type TimeIdCursor = [at: string, id: string];

/** `after` of a list in (timestamp, id) order; BAD_USER_INPUT if it is not one of its cursors. */
export function decodeTimeIdCursor(cursor: string | undefined | null): TimeIdCursor | undefined {
  // decodeCursor checked both values against the shape.
  return decodeCursor(cursor, ['timestamp', 'uuid']) as TimeIdCursor | undefined;
}

export function encodeTimeIdCursor(at: Date, id: string): string {
  return encodeCursor([at.toISOString(), id]);
}

/** One page of a list: the rows, and whether more follow. */
export interface RowsPage<T> {
  rows: T[];
  hasNextPage: boolean;
}

/** A page read one row long (`first + 1`): the extra row only tells that a next page exists. */
export function pageOf<T>(rows: readonly T[], first: number): RowsPage<T> {
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
}

/**
 * The `first` rows of `qb` oldest first by `keyset` (its columns, e.g. `['c.created_at', 'c.id']`),
 * after the cursor's row.
 */
export async function keysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  [at, id]: readonly [string, string],
  first: number,
  after?: TimeIdCursor,
): Promise<RowsPage<T>> {
  if (after) qb.andWhere(`(${at}, ${id}) > (:afterAt, :afterId)`, { afterAt: after[0], afterId: after[1] });
  return pageOf(await qb.orderBy(at, 'ASC').addOrderBy(id, 'ASC').take(first + 1).getMany(), first);
}

/** How a list in (timestamp, id) order is read, page by page, for a Connection. */
export interface TimeIdList<R, N> {
  /** One page: `first` rows after the cursor's row, and whether more follow. */
  read: (first: number, after?: TimeIdCursor) => Promise<RowsPage<R>>;
  toNode: (row: R) => N;
  /** The (timestamp, id) a node's cursor carries. */
  keyOf: (node: N) => readonly [Date, string];
  count: () => Promise<number>;
}

/** `first` and `after` checked (BAD_USER_INPUT naming them), then one page of `list`, ready for `Connection.from`. */
export async function timeIdPage<R, N>(first: number, after: string | null | undefined, list: TimeIdList<R, N>): Promise<Page<N>> {
  const { rows, hasNextPage } = await list.read(pageSize(first), decodeTimeIdCursor(after));
  return {
    nodes: rows.map((row) => list.toNode(row)),
    hasNextPage,
    cursorOf: (node) => encodeTimeIdCursor(...list.keyOf(node)),
    count: list.count,
  };
}
