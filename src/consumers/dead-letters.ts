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
