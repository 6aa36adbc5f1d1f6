import { fnv1a } from "./lanes.ts";
import { STREAM_ID, compareIds } from "./stream-ids.ts";
import type { StreamName } from "./registry.ts";

/**
 * How a logical stream (orders, inventory) maps onto Redis keys. With one partition on a single
 * Redis the keys are the plain `<prefix>:<stream>` of old; otherwise each partition is its own
 * stream `{<prefix>:<stream>:<n>}`: the braces are a Redis Cluster hash tag, so a partition, its
 * `:dlq` and its `:trimmed-through` marker hash to one slot and can share a MULTI or a script.
 */
export interface StreamLayout {
  prefix: string;
  partitions: number;
  /** Redis Cluster: a command (MULTI, script, multi-key read) may only touch keys of one slot. */
  cluster: boolean;
}

/**
 * The partition of an aggregate: its events always land on one partition stream, in the order the
 * relay publishes them. Same FNV-1a as the outbox lanes; stable across processes and versions.
 */
export function partitionOf(aggregateId: string, partitions: number): number {
  return partitions <= 1 ? 0 : fnv1a(aggregateId) % partitions;
}

const tagged = (layout: StreamLayout) => layout.partitions > 1 || layout.cluster;

export function partitionKey(layout: StreamLayout, stream: StreamName, partition: number): string {
  return tagged(layout) ? `{${layout.prefix}:${stream}:${partition}}` : `${layout.prefix}:${stream}`;
}

/** Every partition key of a stream, index = partition number. */
export function partitionKeys(layout: StreamLayout, stream: StreamName): string[] {
  return Array.from({ length: layout.partitions }, (_, p) => partitionKey(layout, stream, p));
}

export function keyForAggregate(layout: StreamLayout, stream: StreamName, aggregateId: string): string {
  return partitionKey(layout, stream, partitionOf(aggregateId, layout.partitions));
}

/** A partition's dead letters: same hash tag, same slot as the partition stream. */
export const dlqOf = (key: string) => `${key}:dlq`;

/**
 * Where the id of the newest trimmed entry is kept, so resuming subscribers can tell they missed
 * events. A suffix: it keeps a partition key's hash tag (same cluster slot as its stream).
 */
export const trimmedThroughKey = (streamKey: string) => `${streamKey}:trimmed-through`;

/**
 * Key sets one command may cover: on a single Redis one XREAD(GROUP) reads every partition; on a
 * cluster each partition (slot) needs its own command, and a blocking one its own connection.
 */
export function readGroups<T>(items: readonly T[], cluster: boolean): T[][] {
  return cluster ? items.map((i) => [i]) : items.length ? [[...items]] : [];
}

/*
 * Cursors. A subscriber's position is one entry id per partition ("everything up to here seen").
 * With one partition that is the plain entry id, exactly as before; with more it is encoded
 * opaquely: "c" + base64url of the ids joined by commas, in partition order.
 */

export function encodeCursor(ids: readonly string[]): string {
  if (ids.length === 1) return ids[0]!;
  return `c${Buffer.from(ids.join(","), "utf8").toString("base64url")}`;
}

/** The per-partition ids of a cursor, or null when it is not a cursor of a stream with this many partitions. */
export function decodeCursor(cursor: string, partitions: number): string[] | null {
  if (partitions <= 1) return STREAM_ID.test(cursor) ? [cursor] : null;
  if (!/^c[A-Za-z0-9_-]{1,8000}$/.test(cursor)) return null;
  const ids = Buffer.from(cursor.slice(1), "base64url").toString("utf8").split(",");
  if (ids.length !== partitions || !ids.every((id) => STREAM_ID.test(id))) return null;
  return encodeCursor(ids) === cursor ? ids : null; // rejects non-canonical spellings
}

/** Per-partition maximum of two positions. */
export function maxPositions(a: readonly string[], b: readonly string[]): string[] {
  return a.map((id, p) => (compareIds(id, b[p]!) >= 0 ? id : b[p]!));
}

/** True when `a` is at or past `b` in every partition. */
export function covers(a: readonly string[], b: readonly string[]): boolean {
  return a.every((id, p) => compareIds(id, b[p]!) >= 0);
}

/**
 * K-way merge of per-partition pages (each ascending) by entry id, ties by partition. Yields
 * entries only while every partition still having more pages has an entry left, so a caller
 * paging through partitions never emits an entry before a smaller one not yet fetched.
 */
export function mergeByIdOrder<E extends { id: string }>(
  pages: readonly E[][],
  exhausted: readonly boolean[],
): { merged: [number, E][]; rest: E[][] } {
  const rest = pages.map((p) => [...p]);
  const merged: [number, E][] = [];
  for (;;) {
    let best = -1;
    for (let p = 0; p < rest.length; p++) {
      if (rest[p]!.length === 0) {
        if (!exhausted[p]) return { merged, rest }; // more of this partition may come first
        continue;
      }
      if (best < 0 || compareIds(rest[p]![0]!.id, rest[best]![0]!.id) < 0) best = p;
    }
    if (best < 0) return { merged, rest };
    merged.push([best, rest[best]!.shift()!]);
  }
}

/** The id right before `id` (for a cut between two entries); "0-0" stays "0-0". */
export function previousId(id: string): string {
  const [ms, seq = "0"] = id.split("-");
  if (BigInt(seq) > 0n) return `${ms}-${BigInt(seq) - 1n}`;
  return BigInt(ms!) > 0n ? `${BigInt(ms!) - 1n}-18446744073709551615` : "0-0";
}

/**
 * The position "everything up to entry `id` of `partition`, in (id, partition) order": what a
 * reader merging partitions by id has seen once it emitted that entry. For history reads, which
 * do not track every partition's position.
 */
export function cutAt(id: string, partition: number, partitions: number): string[] {
  const before = previousId(id);
  return Array.from({ length: partitions }, (_, q) => (q <= partition ? id : before));
}

/** What XINFO STREAM (and the trimmer's marker) tell about one partition; `exists: false` when there is no stream yet. */
export interface PartitionState {
  exists: boolean;
  /** Id of the first entry still held, null when empty. */
  first: string | null;
  /** `last-generated-id`: the newest id ever added ("0-0" when none). */
  lastGenerated: string;
  entriesAdded: number;
  length: number;
  /** `max-deleted-entry-id` (XDEL), "0-0" when none. */
  maxDeleted: string;
  /** The trimmer's record of the newest entry it trimmed, null when it never trimmed. */
  trimmedThrough: string | null;
}

export type CursorVerdict =
  | { ok: true }
  /** Events after `after` are gone; `resumableFrom` is the lowest position from which nothing is missing. */
  | { ok: false; reason: "too-old"; resumableFrom: string }
  /** `after` is beyond anything the stream ever held; `end` is where the stream ends. */
  | { ok: false; reason: "ahead"; end: string };

/**
 * The rules for resuming one partition after `after` (see README, "Cursor rules"):
 * - a cursor beyond the newest id the stream ever generated is refused ("ahead"): nothing would
 *   be delivered until the clock passed it, and what it claims to have seen was never there;
 * - a cursor before the newest entry known to be gone (trimmed or XDEL'd) is refused ("too-old"),
 *   and the position offered instead is that newest gone entry itself: resuming from it replays
 *   the first entry still held;
 * - a cursor exactly at that point (nothing missing) is accepted.
 * When the stream was trimmed by someone who left no record, the newest gone entry is unknown; the
 * id right before the first entry still held is then the trim point (nothing lies between).
 */
export function judgeCursor(after: string, s: PartitionState): CursorVerdict {
  const end = s.exists ? s.lastGenerated : "0-0";
  if (compareIds(after, end) > 0) return { ok: false, reason: "ahead", end };
  if (!s.exists) return { ok: true };
  let gone = s.maxDeleted;
  if (s.trimmedThrough !== null && compareIds(s.trimmedThrough, gone) > 0) gone = s.trimmedThrough;
  if (s.entriesAdded > s.length) {
    // Something went that neither XDEL nor our trimmer recorded (XTRIM, MAXLEN on XADD): everything
    // before the first entry still held may be gone; with nothing held, everything up to the end.
    const cut = s.first === null ? s.lastGenerated : previousId(s.first);
    if (s.trimmedThrough === null && compareIds(cut, gone) > 0) gone = cut;
  }
  return compareIds(after, gone) < 0 ? { ok: false, reason: "too-old", resumableFrom: gone } : { ok: true };
}
