import type { RedisClient } from "../infra/redis.ts";
import type { Logger } from "../observability/logger.ts";
import { PeriodicRole } from "../roles.ts";
import { safeTrimId, type GroupPosition } from "./trim-floor.ts";
import { trimmedThroughKey } from "../events/partitions.ts";
import { compareIds, nextId } from "../events/stream-ids.ts";

export interface RetentionOptions {
  redis: RedisClient;
  /** Every partition key of every stream: each is trimmed on its own. */
  keys: string[];
  log: Logger;
  /** Keep entries younger than this. */
  maxAgeMs?: number;
  /** Keep at most this many entries. */
  maxLen?: number;
  intervalMs: number;
}

const MAX_EVICT_SCAN = 10_000;

/**
 * Applies the streams' retention periodically. Redis 7.0's XTRIM has no "only acknowledged" mode,
 * so the cut-off is computed here and lowered to the oldest entry any group still needs.
 */
export class StreamTrimmer extends PeriodicRole {
  constructor(private readonly o: RetentionOptions) {
    super("stream trimmer", o.intervalMs, () => this.trimAll(), o.log);
  }

  override start(): void {
    if (this.o.maxAgeMs === undefined && this.o.maxLen === undefined) return; // retention is off: nothing to run
    super.start();
  }

  async trimAll(): Promise<number> {
    let evicted = 0;
    for (const key of this.o.keys) evicted += await this.trim(key);
    return evicted;
  }

  private async trim(key: string): Promise<number> {
    const target = await this.target(key);
    if (!target) return 0;
    const floor = safeTrimId(target, await this.groupPositions(key));
    const [lastGone] = (await this.o.redis.xrevrange(key, `(${floor}`, "-", "COUNT", 1)) as [string, string[]][];
    if (!lastGone) return 0;
    // Recorded before trimming: a resume cursor checked in between errs on the side of "too old".
    await this.o.redis.set(trimmedThroughKey(key), lastGone[0]);
    const evicted = (await this.o.redis.call("XTRIM", key, "MINID", floor)) as number;
    if (evicted > 0) this.o.log.info({ stream: key, evicted, minId: floor, wanted: target }, "stream trimmed");
    return evicted;
  }

  /** The MINID retention asks for, or null when nothing is due. */
  private async target(key: string): Promise<string | null> {
    const candidates: string[] = [];
    if (this.o.maxAgeMs !== undefined) candidates.push(`${Date.now() - this.o.maxAgeMs}-0`);
    if (this.o.maxLen !== undefined) {
      const excess = (await this.o.redis.xlen(key)) - this.o.maxLen;
      if (excess > 0) {
        const oldest = await this.o.redis.xrange(key, "-", "+", "COUNT", Math.min(excess, MAX_EVICT_SCAN));
        candidates.push(nextId(oldest.at(-1)![0]));
      }
    }
    if (candidates.length === 0) return null;
    return candidates.reduce((a, b) => (compareIds(a, b) >= 0 ? a : b)); // the stricter rule wins
  }

  private async groupPositions(key: string): Promise<GroupPosition[]> {
    let groups: unknown[];
    try {
      groups = (await this.o.redis.xinfo("GROUPS", key)) as unknown[];
    } catch {
      return []; // no such stream
    }
    const positions: GroupPosition[] = [];
    for (const raw of groups) {
      const info = toObject(raw as unknown[]);
      const name = String(info.name);
      const summary = (await this.o.redis.xpending(key, name)) as [number, string | null, string | null, unknown];
      positions.push({
        lastDeliveredId: String(info["last-delivered-id"]),
        oldestPendingId: summary[0] > 0 ? summary[1] : null,
      });
    }
    return positions;
  }
}

function toObject(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < flat.length - 1; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}
