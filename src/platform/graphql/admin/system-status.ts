/**
 * `systemStatus` (admins): what the dashboard's system panel shows, read from the same probes
 * /metrics uses — outbox backlog, consumer group lag and pending — plus dead letters per stream
 * and the event rate of each stream over the last minutes.
 *
 * The event rate comes from each stream's `entries-added` counter (XINFO STREAM, O(1)), sampled
 * every 2 s by this process while someone is looking: the sampler starts on the first query
 * (backfilled from the streams' recent entry ids) and stops after a few idle minutes, so the chart
 * costs Redis nothing per event.
 */
import type { Builder } from "../builder.ts";
import type { ConsumerGroupInfo, Context } from "../context.ts";
import type { EventStreamRef } from "./dead-letters.ts";
import { dlqOf, partitionKeys, type StreamLayout } from "../../events/partitions.ts";
import type { StreamName } from "../../events/registry.ts";
import { probeConsumerGroups, probeOutbox, type GroupSample, type GroupStreams } from "../../observability/metrics.ts";

const SAMPLE_MS = 2_000;
const KEEP_MS = 15 * 60_000;
const IDLE_STOP_MS = 5 * 60_000;

interface Sample {
  at: number;
  /** entries-added per stream, summed over partitions; null when Redis did not answer. */
  added: Record<StreamName, number> | null;
}

/** The consumer groups of the running modules and the partition keys they read, labelled like /metrics. */
export function consumerGroupStreams(layout: StreamLayout, groups: readonly ConsumerGroupInfo[]): GroupStreams[] {
  return groups.map((d) => ({
    group: d.group,
    streams: d.streams.flatMap((s) =>
      partitionKeys(layout, s).map((key, p) => ({ name: layout.partitions > 1 ? `${s}/${p}` : s, key })),
    ),
  }));
}

async function entriesAdded(
  redis: Context["redis"],
  layout: StreamLayout,
  streams: readonly StreamName[],
): Promise<Record<StreamName, number> | null> {
  try {
    const out = {} as Record<StreamName, number>;
    for (const stream of streams) {
      out[stream] = 0;
      for (const key of partitionKeys(layout, stream)) {
        const info = (await redis.call("XINFO", "STREAM", key).catch((err: Error) => {
          if (/no such key/i.test(err.message)) return null; // nothing published yet
          throw err;
        })) as unknown[] | null;
        if (!info) continue;
        const i = info.indexOf("entries-added");
        // Redis < 7 has no entries-added: fall back to the length (exact until the first trim).
        const n = i >= 0 ? Number(info[i + 1]) : Number(info[info.indexOf("length") + 1]);
        out[stream] += Number.isFinite(n) ? n : 0;
      }
    }
    return out;
  } catch {
    return null;
  }
}

interface RatePoint {
  at: Date;
  seconds: number;
  /** Events per second on each stream. */
  rates: Record<StreamName, number>;
}

/** The recent past, counted from entry ids: full buckets, and what is in the bucket still open. */
interface Backfill {
  points: RatePoint[];
  /** Start of the open bucket, and the entries seen in it so far. */
  boundary: number;
  open: Record<StreamName, number>;
}

/**
 * One sampler per stream prefix per process, running while the status is being watched. It starts
 * with the recent past read from the streams' entry ids (at most BACKFILL_MAX entries per key), so
 * a freshly opened dashboard, or a restarted api, shows the last minutes at once.
 */
class RateSampler {
  points: RatePoint[] = [];
  private last: Sample | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastQuery = 0;

  constructor(
    private readonly take: () => Promise<Sample["added"]>,
    private readonly backfill: (now: number) => Promise<Backfill>,
  ) {}

  async touch(): Promise<void> {
    this.lastQuery = Date.now();
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (Date.now() - this.lastQuery > IDLE_STOP_MS) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.points = []; // a gap would read as a burst
        this.last = null;
        return;
      }
      void this.sample();
    }, SAMPLE_MS);
    this.timer.unref?.();
    const [added, past] = await Promise.all([this.take(), this.backfill(Date.now()).catch(() => null)]);
    if (added && past) {
      // The first live point then covers the open bucket from its start: every event counted once.
      this.points = past.points;
      this.last = {
        at: past.boundary,
        added: Object.fromEntries(Object.entries(added).map(([s, n]) => [s, n - (past.open[s] ?? 0)])),
      };
    } else {
      this.last = { at: Date.now(), added };
    }
  }

  private async sample() {
    const added = await this.take();
    const at = Date.now();
    const prev = this.last;
    if (prev?.added && added) {
      const seconds = (at - prev.at) / 1000;
      const rates = Object.fromEntries(
        Object.entries(added).map(([s, n]) => [s, Math.max(0, n - (prev.added![s] ?? 0)) / seconds]),
      );
      this.points.push({ at: new Date(at), seconds, rates });
    }
    this.last = { at, added };
    while (this.points.length && this.points[0]!.at.getTime() < at - KEEP_MS) this.points.shift();
  }
}
const samplers = new Map<string, RateSampler>();

const BACKFILL_MAX = 2_000;

/** Rates per SAMPLE_MS bucket over the last KEEP_MS, counted from entry ids (ids are publish times). */
async function recentRates(
  redis: Context["redis"],
  layout: StreamLayout,
  streams: readonly StreamName[],
  now: number,
): Promise<Backfill> {
  const start = now - KEEP_MS;
  const openBucket = Math.floor(KEEP_MS / SAMPLE_MS);
  let from = start; // where the counts are complete (later when a key had more than BACKFILL_MAX entries)
  const counts = new Map<number, Record<StreamName, number>>();
  const zero = () => Object.fromEntries(streams.map((s) => [s, 0])) as Record<StreamName, number>;
  for (const stream of streams) {
    for (const key of partitionKeys(layout, stream)) {
      const entries = (await redis.xrevrange(key, "+", String(start), "COUNT", BACKFILL_MAX)) as [string, string[]][];
      if (entries.length === BACKFILL_MAX) from = Math.max(from, Number(entries.at(-1)![0].split("-")[0]) + SAMPLE_MS);
      for (const [id] of entries) {
        const bucket = Math.min(openBucket, Math.floor((Number(id.split("-")[0]) - start) / SAMPLE_MS));
        const c = counts.get(bucket) ?? zero();
        c[stream] = (c[stream] ?? 0) + 1;
        counts.set(bucket, c);
      }
    }
  }
  const points: RatePoint[] = [];
  const seconds = SAMPLE_MS / 1000;
  for (let b = Math.ceil((from - start) / SAMPLE_MS); b < openBucket; b++) {
    const c = counts.get(b) ?? zero();
    points.push({
      at: new Date(start + (b + 1) * SAMPLE_MS),
      seconds,
      rates: Object.fromEntries(streams.map((s) => [s, (c[s] ?? 0) / seconds])),
    });
  }
  return { points, boundary: start + openBucket * SAMPLE_MS, open: counts.get(openBucket) ?? zero() };
}

/** The points within the last `minutes`. */
function ratesOf(points: readonly RatePoint[], minutes: number): RatePoint[] {
  const since = Date.now() - minutes * 60_000;
  return points.filter((p) => p.at.getTime() >= since);
}

interface SystemStatus {
  ctx: Context;
  layout: StreamLayout;
  outbox: Promise<{ backlog: number; age: number } | null>;
  groups: Promise<GroupSample[]>;
  sampler: RateSampler;
}

/** `systemStatus` over the streams the modules declared. */
export function registerSystemStatusSchema(
  builder: Builder,
  streams: readonly StreamName[],
  EventStream: EventStreamRef,
): void {
  const ConsumerGroupStatus = builder.objectRef<GroupSample>("ConsumerGroupStatus").implement({
    description: "A consumer group on one stream (or stream partition), as XINFO GROUPS reports it.",
    fields: (t) => ({
      group: t.exposeString("group"),
      stream: t.exposeString("stream", { description: "orders or inventory (orders/0 … with partitions)." }),
      lag: t.int({
        nullable: true,
        description: "Entries not yet delivered to the group; null when Redis cannot tell.",
        resolve: (g) => g.lag,
      }),
      pending: t.exposeInt("pending", { description: "Delivered, not yet acknowledged." }),
    }),
  });

  const StreamCount = builder.objectRef<{ stream: StreamName; count: number }>("StreamCount").implement({
    fields: (t) => ({ stream: t.field({ type: EventStream, resolve: (c) => c.stream }), count: t.exposeInt("count") }),
  });

  const EventRatePoint = builder.objectRef<RatePoint>("EventRatePoint").implement({
    description: "Events per second published to each stream over one sampling interval ending at `at`.",
    fields: (t) => ({
      at: t.field({ type: "DateTime", resolve: (p) => p.at }),
      seconds: t.exposeFloat("seconds"),
      // One field per stream, named after it.
      ...Object.fromEntries(streams.map((stream) => [stream, t.float({ resolve: (p) => p.rates[stream] ?? 0 })])),
    }),
  });

  const SystemStatusRef = builder.objectRef<SystemStatus>("SystemStatus").implement({
    description: "Pipeline health for operators: the dashboard's system panel.",
    fields: (t) => ({
      outboxBacklog: t.int({
        nullable: true,
        description: "Outbox rows not yet published (null: Postgres did not answer in time).",
        resolve: async (s) => (await s.outbox)?.backlog ?? null,
      }),
      outboxOldestAgeSeconds: t.float({
        nullable: true,
        description: "Age of the oldest unpublished outbox row (0 when empty).",
        resolve: async (s) => (await s.outbox)?.age ?? null,
      }),
      consumerGroups: t.field({ type: [ConsumerGroupStatus], resolve: (s) => s.groups }),
      deadLetters: t.field({
        type: [StreamCount],
        description: "Dead letters waiting per stream (replay or discard them with the dead-letter mutations).",
        resolve: async (s) =>
          Promise.all(
            streams.map(async (stream) => {
              let count = 0;
              for (const key of partitionKeys(s.layout, stream)) count += await s.ctx.redis.xlen(dlqOf(key));
              return { stream, count };
            }),
          ),
      }),
      eventRate: t.field({
        type: [EventRatePoint],
        description:
          "Events per second on each stream, one point per 2 s sample, over the last `minutes` (sampled while someone asks for this).",
        args: { minutes: t.arg.int({ required: false, defaultValue: 10 }) },
        resolve: (s, args) => ratesOf(s.sampler.points, Math.min(Math.max(args.minutes ?? 10, 1), 15)),
      }),
    }),
  });

  builder.queryField("systemStatus", (t) =>
    t.field({
      type: SystemStatusRef,
      description: "Outbox backlog, consumer lag per group, dead letters and event rates (admins).",
      authScopes: { admin: true },
      resolve: async (_root, _args, ctx) => {
        const layout = ctx.layout;
        // Postgres through Prisma: the outbox probe only needs `query(sql) → { rows }`.
        const pool = { query: async (sql: string) => ({ rows: await ctx.prisma.$queryRawUnsafe(sql) }) } as never;
        let sampler = samplers.get(layout.prefix);
        // The sampler outlives this request: it keeps the process's commands connection, not the context.
        const redis = ctx.redis;
        if (!sampler)
          samplers.set(
            layout.prefix,
            (sampler = new RateSampler(
              () => entriesAdded(redis, layout, streams),
              (now) => recentRates(redis, layout, streams, now),
            )),
          );
        await sampler.touch();
        return {
          ctx,
          layout,
          outbox: probeOutbox(pool, ctx.log),
          groups: probeConsumerGroups(ctx.redis, consumerGroupStreams(layout, ctx.consumerGroups), ctx.log),
          sampler,
        };
      },
    }),
  );
}
