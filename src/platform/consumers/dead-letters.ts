import type { RedisClient } from "../infra/redis.ts";
import type { StreamEntry } from "../events/stream-entry.ts";
import type { StreamName } from "../events/registry.ts";
import { dlqOf, partitionKey, type StreamLayout } from "../events/partitions.ts";
import { compareIds } from "../events/stream-ids.ts";
import type { DeadLetterReason } from "./failure-policy.ts";

export interface DeadLetterMeta {
  group: string;
  consumer: string;
  deliveries: number;
  reason: DeadLetterReason;
  error: string;
}

/**
 * Moves an entry to `<partition stream>:dlq` with why it failed, and acknowledges it in the same
 * MULTI so the group moves on: either both happen or neither (then it is simply delivered again).
 * The dead-letter stream shares the partition's hash tag, so the MULTI stays in one cluster slot.
 */
export async function deadLetter(
  redis: RedisClient,
  source: string,
  entry: StreamEntry,
  meta: DeadLetterMeta,
): Promise<string> {
  const result = await redis
    .multi()
    .xadd(
      dlqOf(source),
      "*",
      "stream",
      source,
      "entryId",
      entry.id,
      "group",
      meta.group,
      "consumer",
      meta.consumer,
      "deliveries",
      String(meta.deliveries),
      "reason",
      meta.reason,
      "error",
      meta.error.slice(0, 2_000),
      "failedAt",
      new Date().toISOString(),
      "type",
      entry.type,
      "agg",
      entry.aggregateId,
      "env",
      entry.json,
    )
    .xack(source, meta.group, entry.id)
    .exec();
  const [err, id] = result?.[0] ?? [new Error("MULTI aborted"), null];
  if (err) throw err;
  return id as string;
}

export interface DeadLetter {
  /** Public id: `<stream>:<dlq entry id>`, or `<stream>:<partition>:<dlq entry id>` with partitions. */
  id: string;
  stream: StreamName;
  partition: number;
  originalStream: string;
  originalEntryId: string;
  group: string;
  consumer: string;
  deliveries: number;
  reason: string;
  error: string;
  failedAt: string;
  eventType: string;
  aggregateId: string;
  envelope: string;
}

export interface DeadLetterRef {
  stream: StreamName;
  partition: number;
  entryId: string;
}

export const deadLetterId = (stream: StreamName, entryId: string, partition = 0, partitions = 1) =>
  partitions > 1 ? `${stream}:${partition}:${entryId}` : `${stream}:${entryId}`;

/** Parses a public dead-letter id; null when malformed or naming a partition this layout lacks. */
export function parseDeadLetterId(id: string, partitions = 1): DeadLetterRef | null {
  const m = /^(orders|inventory):(?:(\d{1,4}):)?(\d{1,20}-\d{1,20})$/.exec(id);
  if (!m || (m[2] === undefined) !== partitions <= 1) return null;
  const partition = m[2] === undefined ? 0 : Number(m[2]);
  return partition < partitions ? { stream: m[1] as StreamName, partition, entryId: m[3]! } : null;
}

function toDeadLetter(
  layout: StreamLayout,
  stream: StreamName,
  partition: number,
  entryId: string,
  fields: string[],
): DeadLetter {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length - 1; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    id: deadLetterId(stream, entryId, partition, layout.partitions),
    stream,
    partition,
    originalStream: f.stream ?? "",
    originalEntryId: f.entryId ?? "",
    group: f.group ?? "",
    consumer: f.consumer ?? "",
    deliveries: Number(f.deliveries ?? 0),
    reason: f.reason ?? "",
    error: f.error ?? "",
    failedAt: f.failedAt ?? "",
    eventType: f.type ?? "",
    aggregateId: f.agg ?? "",
    envelope: f.env ?? "",
  };
}

const dlqKey = (layout: StreamLayout, stream: StreamName, partition: number) =>
  dlqOf(partitionKey(layout, stream, partition));

/**
 * A page of dead letters of every partition, oldest first (by DLQ entry id, then partition),
 * after the given one. Each partition contributes at most first + 1, enough to fill the page.
 */
export async function listDeadLetters(
  redis: RedisClient,
  layout: StreamLayout,
  stream: StreamName,
  first: number,
  after?: DeadLetterRef,
) {
  const pages = await Promise.all(
    Array.from({ length: layout.partitions }, async (_, p) => {
      // Partitions up to after's come after it from the next id on; later ones from the same id.
      const start = !after ? "-" : p <= after.partition ? `(${after.entryId}` : after.entryId;
      const page = (await redis.xrange(dlqKey(layout, stream, p), start, "+", "COUNT", first + 1)) as [
        string,
        string[],
      ][];
      return page.map(([id, fields]) => toDeadLetter(layout, stream, p, id, fields));
    }),
  );
  const all = pages
    .flat()
    .sort(
      (a, b) =>
        compareIds(a.id.slice(a.id.lastIndexOf(":") + 1), b.id.slice(b.id.lastIndexOf(":") + 1)) ||
        a.partition - b.partition,
    );
  return { items: all.slice(0, first), hasNextPage: all.length > first };
}

export async function getDeadLetter(
  redis: RedisClient,
  layout: StreamLayout,
  ref: DeadLetterRef,
): Promise<DeadLetter | null> {
  const [entry] = (await redis.xrange(dlqKey(layout, ref.stream, ref.partition), ref.entryId, ref.entryId)) as [
    string,
    string[],
  ][];
  return entry ? toDeadLetter(layout, ref.stream, ref.partition, entry[0], entry[1]) : null;
}

/**
 * Removes a dead letter and puts its original entry back on the original stream in one atomic
 * step (a script): of two concurrent replays of one dead letter, exactly one re-publishes it.
 * Returns the new stream entry id, or null when the dead letter no longer exists.
 */
const REPLAY = `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))`;

/** Back onto the partition it came from (the aggregate's partition): both keys share one slot. */
export async function replayDeadLetter(
  redis: RedisClient,
  layout: StreamLayout,
  letter: DeadLetter,
  fields: string[],
): Promise<string | null> {
  const entryId = letter.id.slice(letter.id.lastIndexOf(":") + 1);
  const key = partitionKey(layout, letter.stream, letter.partition);
  const result = await redis.eval(REPLAY, 2, dlqOf(key), key, entryId, ...fields);
  return (result as string | null) ?? null;
}

export async function discardDeadLetter(
  redis: RedisClient,
  layout: StreamLayout,
  ref: DeadLetterRef,
): Promise<boolean> {
  return (await redis.xdel(dlqKey(layout, ref.stream, ref.partition), ref.entryId)) === 1;
}
