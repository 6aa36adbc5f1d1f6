import type { RedisClient } from "../infra/redis.ts";
import { partitionKey, type StreamLayout } from "./partitions.ts";
import type { StreamName } from "./registry.ts";

/** The streams hold data laid out for another partition count: starting would mix them. */
export class StreamLayoutError extends Error {
  override readonly name = "StreamLayoutError";
}

/** Where the partition count the streams were written with is recorded. */
export const layoutKey = (prefix: string) => `${prefix}:layout`;

/**
 * Refuses to run against streams laid out for another STREAM_PARTITIONS: aggregates would land on
 * other partitions than their earlier events (breaking their order) and cursors would not decode.
 * The first process records the count (SET NX); every later one compares. Streams written before
 * the record existed are recognised by their keys: the plain `<prefix>:<stream>` of one partition,
 * or partition 0's `{<prefix>:<stream>:0}`.
 */
export async function claimStreamLayout(
  redis: RedisClient,
  layout: StreamLayout,
  streams: readonly StreamName[],
): Promise<void> {
  const key = layoutKey(layout.prefix);
  const mine = String(layout.partitions);
  let recorded = await redis.get(key);
  if (recorded === null) {
    for (const stream of streams) {
      const plain = `${layout.prefix}:${stream}`;
      const tagged = partitionKey({ ...layout, partitions: 2 }, stream, 0);
      if (layout.partitions > 1 && (await redis.exists(plain))) recorded = "1";
      else if (layout.partitions === 1 && !layout.cluster && (await redis.exists(tagged))) recorded = "more than 1";
      if (recorded !== null) break;
    }
    if (recorded === null) {
      if ((await redis.set(key, mine, "NX")) === "OK") return;
      recorded = await redis.get(key);
    }
  }
  if (recorded !== mine)
    throw new StreamLayoutError(
      `STREAM_PARTITIONS=${mine} but the streams under prefix "${layout.prefix}" are laid out for ${recorded} ` +
        `partition(s); refusing to start (to change it: drain, then see README "Changing N")`,
    );
}
