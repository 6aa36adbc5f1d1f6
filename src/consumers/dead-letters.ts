import type { Redis } from "ioredis";
import { dlqKey, streamKey, type StreamEntry } from "../events/stream-entry.ts";
import type { StreamName } from "../events/catalog.ts";
import type { DeadLetterReason } from "./failure-policy.ts";

export interface DeadLetterMeta {
  group: string;
  consumer: string;
  deliveries: number;
  reason: DeadLetterReason;
  error: string;
}

/**
 * Moves an entry to `<stream>:dlq` with why it failed, and acknowledges it in the same MULTI so the
 * group moves on: either both happen or neither (then it is simply delivered again).
 */
export async function deadLetter(redis: Redis, prefix: string, stream: StreamName, entry: StreamEntry, meta: DeadLetterMeta): Promise<string> {
  const source = streamKey(prefix, stream);
  const result = await redis
    .multi()
    .xadd(
      dlqKey(prefix, stream),
      "*",
      "stream", source,
      "entryId", entry.id,
      "group", meta.group,
      "consumer", meta.consumer,
      "deliveries", String(meta.deliveries),
      "reason", meta.reason,
      "error", meta.error.slice(0, 2_000),
      "failedAt", new Date().toISOString(),
      "type", entry.type,
      "agg", entry.aggregateId,
      "env", entry.json,
    )
    .xack(source, meta.group, entry.id)
    .exec();
  const [err, id] = result?.[0] ?? [new Error("MULTI aborted"), null];
  if (err) throw err;
  return id as string;
}

export interface DeadLetter {
  /** Public id: `<stream>:<dlq entry id>`. */
  id: string;
  stream: StreamName;
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

export const deadLetterId = (stream: StreamName, entryId: string) => `${stream}:${entryId}`;

export function parseDeadLetterId(id: string): { stream: StreamName; entryId: string } | null {
  const m = /^(orders|inventory):(\d{1,20}-\d{1,20})$/.exec(id);
  return m ? { stream: m[1] as StreamName, entryId: m[2]! } : null;
}

function toDeadLetter(stream: StreamName, entryId: string, fields: string[]): DeadLetter {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length - 1; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    id: deadLetterId(stream, entryId),
    stream,
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

/** A page of dead letters, oldest first, after the given DLQ entry id. */
export async function listDeadLetters(redis: Redis, prefix: string, stream: StreamName, first: number, after?: string) {
  const start = after ? `(${after}` : "-";
  const page = (await redis.xrange(dlqKey(prefix, stream), start, "+", "COUNT", first + 1)) as [string, string[]][];
  return { items: page.slice(0, first).map(([id, fields]) => toDeadLetter(stream, id, fields)), hasNextPage: page.length > first };
}

export async function getDeadLetter(redis: Redis, prefix: string, stream: StreamName, entryId: string): Promise<DeadLetter | null> {
  const [entry] = (await redis.xrange(dlqKey(prefix, stream), entryId, entryId)) as [string, string[]][];
  return entry ? toDeadLetter(stream, entry[0], entry[1]) : null;
}

/**
 * Removes a dead letter and puts its original entry back on the original stream in one atomic
 * step (a script): of two concurrent replays of one dead letter, exactly one re-publishes it.
 * Returns the new stream entry id, or null when the dead letter no longer exists.
 */
const REPLAY = `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))`;

export async function replayDeadLetter(redis: Redis, prefix: string, letter: DeadLetter, fields: string[]): Promise<string | null> {
  const entryId = letter.id.slice(letter.stream.length + 1);
  const result = await redis.eval(REPLAY, 2, dlqKey(prefix, letter.stream), streamKey(prefix, letter.stream), entryId, ...fields);
  return (result as string | null) ?? null;
}

export async function discardDeadLetter(redis: Redis, prefix: string, stream: StreamName, entryId: string): Promise<boolean> {
  return (await redis.xdel(dlqKey(prefix, stream), entryId)) === 1;
}
