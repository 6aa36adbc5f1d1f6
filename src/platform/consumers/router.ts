import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { duplicateRedis, type RedisClient } from "../infra/redis.ts";
import type { Logger } from "../observability/logger.ts";
import { EventRegistry, type EventSpecs } from "../events/registry.ts";
import { decodeEntry } from "../events/stream-entry.ts";
import { partitionKeys, readGroups, type StreamLayout } from "../events/partitions.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Role } from "../roles.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import type { RetryLimits } from "./failure-policy.ts";
import { chain, type Message, type Middleware, type Next, type Source } from "./message.ts";
import { handleWith } from "./dispatch.ts";
import type { ConsumerDefinition } from "./types.ts";
import { metrics, type ConsumerStats } from "./middlewares/metrics.ts";
import { poison } from "./middlewares/poison.ts";
import { retry } from "./middlewares/retry.ts";
import { decode } from "./middlewares/decode.ts";
import { tracing } from "./middlewares/tracing.ts";
import { transaction } from "./middlewares/transaction.ts";
import { inbox } from "./middlewares/inbox.ts";
import { outbox } from "./middlewares/outbox.ts";

export interface RouterOptions extends RetryLimits {
  /** The process's Postgres pool: each event is handled in one transaction on it (inTransaction). */
  pool: pg.Pool;
  /** A connection of its own: XREADGROUP BLOCK holds it while waiting. */
  redis: RedisClient;
  /** Every event type the running modules declared: validation of what is read, streams of what is emitted. */
  events: EventRegistry;
  layout: StreamLayout;
  log: Logger;
  readCount: number;
  blockMs: number;
  /** Entries idle this long on another consumer are taken over (that consumer is presumed dead). */
  claimIdleMs: number;
  /** Aggregates processed concurrently within a batch (each aggregate's events stay sequential). */
  concurrency: number;
  metrics?: Metrics;
}

/**
 * A read loop over the sources one XREADGROUP may cover (all of them on a single Redis; one
 * partition on a cluster, where a command spans one slot), on a connection of its own because
 * the blocking read holds it.
 */
interface Reader {
  sources: Source[];
  redis: RedisClient;
  blocked: boolean;
  nextClaimAt: number;
  /** Our failed entries waiting out their backoff, by entry id (ids are unique per source key). */
  retries: Map<string, Pick<Message, "source" | "entry" | "deliveries"> & { dueAt: number }>;
}

type XReadGroupReply = [string, [string, string[] | null][]][] | null;

/**
 * The consumer router every worker runs, after Watermill's: it owns the stream mechanics —
 * XREADGROUP (blocking, batched) on a connection per reader, XAUTOCLAIM of entries stuck on a dead
 * consumer, XCLAIM of failed entries when their backoff is due, a bounded number of aggregates in
 * flight, XACK — and hands each delivery to a chain of middlewares (middlewares/, outermost first):
 *
 *   metrics → poison → retry → acknowledge → decode → tracing → transaction → inbox → outbox → handler
 *
 * The handler is the consumer's, for the envelope's type, typed by its contract (dispatch.ts).
 */
export class ConsumerRouter<S extends EventSpecs = EventSpecs> implements Role {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  readonly stats: ConsumerStats = { handled: 0, duplicates: 0, skipped: 0, retried: 0, deadLettered: 0, claimed: 0 };
  private readonly stopping = new AbortController();
  private readonly readers: Reader[];
  private readonly handle: Next<Message>;
  private loops: Promise<void>[] = [];
  private looping = false;
  private freeSlots: number;
  private readonly slotWaiters: (() => void)[] = [];

  constructor(
    private readonly def: ConsumerDefinition<S>,
    private readonly o: RouterOptions,
  ) {
    this.freeSlots = o.concurrency;
    const keys = def.streams.flatMap((stream) => partitionKeys(o.layout, stream).map((key) => ({ stream, key })));
    this.readers = readGroups(keys, o.layout.cluster).map((group, i) => {
      const redis = i === 0 ? o.redis : duplicateRedis(o.redis);
      return {
        sources: group.map((s) => ({ ...s, redis })),
        redis,
        blocked: false,
        nextClaimAt: 0,
        retries: new Map(),
      };
    });
    this.handle = this.middlewares();
  }

  /** True from start() until stop(): the read loops catch every error and back off, they only end on stop (readiness). */
  get running(): boolean {
    return this.looping && !this.stopping.signal.aborted;
  }

  get group(): string {
    return this.def.group;
  }

  get name(): string {
    return `consumer ${this.def.group}`;
  }

  get streams(): readonly string[] {
    return this.def.streams;
  }

  private get log() {
    return this.o.log;
  }

  /** The chain every delivery goes through; see the class comment for what each step does. */
  private middlewares(): Next<Message> {
    const { def, o } = this;
    const { group, handlers } = def;
    const handled = new Set(Object.keys(handlers).filter((type) => handlers[type] !== undefined));
    for (const type of handled) {
      // What the handlers are given is validated against their own contract: it must be what the registry runs.
      if (o.events.specs[type] !== def.contract[type])
        throw new Error(
          `consumer ${group} handles ${type}, which the running modules declare differently or not at all`,
        );
    }
    // Acknowledges what the rest of the chain is done with; inside retry, so a failed XACK is retried.
    const acknowledge: Middleware<Message> = (next) => async (msg) => {
      const outcome = await next(msg);
      await msg.source.redis.xack(msg.source.key, group, msg.entry.id);
      return outcome;
    };
    return chain<Message>()
      .use(metrics({ group, stats: this.stats, metrics: o.metrics, known: (type) => o.events.has(type) }))
      .use(poison({ group, consumer: this.consumer, log: o.log }))
      .use(
        retry({
          group,
          log: o.log,
          maxDeliveries: o.maxDeliveries,
          retryBaseMs: o.retryBaseMs,
          retryMaxMs: o.retryMaxMs,
        }),
      )
      .use(acknowledge)
      .use(
        decode({ registry: o.events, contract: new EventRegistry(def.contract), handles: (type) => handled.has(type) }),
      )
      .use(tracing({ group, log: o.log }))
      .use(transaction(o.pool))
      .use(inbox(group))
      .use(outbox(o.events))
      .handle(handleWith(handlers, o.metrics));
  }

  async start(): Promise<void> {
    await this.ensureGroups();
    this.looping = true;
    this.loops = this.readers.map((r) => this.run(r));
    this.log.info(
      {
        group: this.def.group,
        consumer: this.consumer,
        streams: this.def.streams,
        partitions: this.o.layout.partitions,
      },
      "consumer started",
    );
  }

  /** Stops reading, lets the batch in flight finish and be acknowledged, then returns. */
  async stop(): Promise<void> {
    this.stopping.abort();
    // Only a blocked read is interrupted; work in progress runs to its XACK.
    for (const r of this.readers) if (r.blocked) r.redis.disconnect();
    await Promise.all(this.loops);
    for (const r of this.readers) r.redis.disconnect();
  }

  /** Creates each group at the start of its stream (so events written before the first deploy count). */
  private async ensureGroups(): Promise<void> {
    for (const r of this.readers) {
      for (const { key } of r.sources) {
        try {
          await this.o.redis.xgroup("CREATE", key, this.def.group, "0", "MKSTREAM");
        } catch (err) {
          if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
        }
      }
    }
  }

  private async run(r: Reader): Promise<void> {
    let outages = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const due = await this.takeDueRetries(r);
        const claimed = Date.now() >= r.nextClaimAt ? await this.claimStale(r) : [];
        const fresh = due.length + claimed.length > 0 ? await this.read(r, 0) : await this.read(r, this.blockMs(r));
        await this.processBatch(r, [...due, ...claimed, ...fresh]);
        outages = 0;
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        if (String((err as Error).message).includes("NOGROUP")) {
          // Redis lost the stream or group (restarted without persistence, or someone deleted it).
          this.log.warn({ group: this.def.group }, "consumer group missing; recreating it");
          await this.ensureGroups().catch(() => {});
          continue;
        }
        const delay = backoffDelay(outages++, 200, 5_000);
        this.log.warn({ err, retryInMs: delay }, "consumer loop failed; backing off");
        await sleep(delay, this.stopping.signal);
        if (r.redis.status === "end") r.redis.connect().catch(() => {});
      }
    }
  }

  /** Block no longer than until the next retry is due. */
  private blockMs(r: Reader): number {
    let until = this.o.blockMs;
    for (const retry of r.retries.values()) until = Math.min(until, Math.max(1, retry.dueAt - Date.now()));
    return until;
  }

  private async read(r: Reader, blockMs: number): Promise<Message[]> {
    const args = r.sources.map((s) => s.key);
    r.blocked = blockMs > 0;
    try {
      const reply = (await r.redis.call(
        "XREADGROUP",
        "GROUP",
        this.def.group,
        this.consumer,
        "COUNT",
        this.o.readCount,
        ...(blockMs > 0 ? ["BLOCK", blockMs] : []),
        "STREAMS",
        ...args,
        ...args.map(() => ">"),
      )) as XReadGroupReply;
      return this.toDeliveries(r, reply);
    } finally {
      r.blocked = false;
    }
  }

  private toDeliveries(r: Reader, reply: XReadGroupReply): Message[] {
    const out: Message[] = [];
    for (const [key, entries] of reply ?? []) {
      const source = r.sources.find((s) => s.key === key)!;
      for (const [id, fields] of entries)
        if (fields) out.push({ source, entry: decodeEntry(id, fields), deliveries: 1 });
    }
    return out;
  }

  /** Our own failed entries whose backoff has elapsed, re-taken with XCLAIM (which counts a delivery). */
  private async takeDueRetries(r: Reader): Promise<Message[]> {
    const now = Date.now();
    const out: Message[] = [];
    for (const [id, retry] of r.retries) {
      if (retry.dueAt > now) continue;
      r.retries.delete(id);
      // Min idle = 0 would steal it back from a consumer that claimed it meanwhile; 1 ms is enough
      // to refuse an entry someone is processing right now (their claim reset its idle time).
      const claimed = (await r.redis.call("XCLAIM", retry.source.key, this.def.group, this.consumer, 1, id)) as [
        string,
        string[],
      ][];
      for (const [cid, fields] of claimed)
        if (fields)
          out.push({ source: retry.source, entry: decodeEntry(cid, fields), deliveries: retry.deliveries + 1 });
    }
    return out;
  }

  /** Takes over entries left pending by consumers that stopped answering (crashed, killed, partitioned). */
  private async claimStale(r: Reader): Promise<Message[]> {
    r.nextClaimAt = Date.now() + Math.max(100, Math.floor(this.o.claimIdleMs / 2));
    const out: Message[] = [];
    for (const source of r.sources) {
      const { key, stream } = source;
      const [, entries] = (await r.redis.xautoclaim(
        key,
        this.def.group,
        this.consumer,
        this.o.claimIdleMs,
        "0-0",
        "COUNT",
        this.o.readCount,
      )) as [string, [string, string[] | null][], string[]?];
      const live = entries.filter(([, fields]) => fields);
      if (live.length === 0) continue;
      // XAUTOCLAIM does not say how often an entry was delivered; the pending entries list does.
      const pending = (await r.redis.xpending(
        key,
        this.def.group,
        live[0]![0],
        live.at(-1)![0],
        live.length * 2,
        this.consumer,
      )) as [string, string, number, number][];
      const counts = new Map(pending.map(([id, , , n]) => [id, n]));
      for (const [id, fields] of live)
        out.push({ source, entry: decodeEntry(id, fields!), deliveries: counts.get(id) ?? 1 });
      this.stats.claimed += live.length;
      this.log.warn(
        { group: this.def.group, stream, key, count: live.length, ids: live.map(([id]) => id) },
        "claimed entries from an unresponsive consumer",
      );
    }
    return out;
  }

  /** Aggregates in parallel (bounded), each aggregate's entries in stream order. */
  private async processBatch(r: Reader, batch: Message[]): Promise<void> {
    if (batch.length === 0) return;
    const byAggregate = new Map<string, Message[]>();
    for (const d of batch) {
      const list = byAggregate.get(d.entry.aggregateId) ?? [];
      list.push(d);
      byAggregate.set(d.entry.aggregateId, list);
    }
    const lanes = [...byAggregate.values()];
    const workers = Array.from({ length: Math.min(this.o.concurrency, lanes.length) }, async () => {
      for (let lane = lanes.shift(); lane; lane = lanes.shift()) {
        await this.acquireSlot();
        try {
          for (const d of lane) await this.process(r, d);
        } finally {
          this.releaseSlot();
        }
      }
    });
    await Promise.all(workers);
  }

  /**
   * `concurrency` bounds aggregates in flight per process, across all readers: with one reader
   * per partition (cluster) it would otherwise multiply by the partition count and outgrow the
   * database pool.
   */
  private async acquireSlot(): Promise<void> {
    if (this.freeSlots > 0) return void this.freeSlots--;
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.freeSlots++;
  }

  /** One delivery through the chain; a retry it asks for is scheduled here (and, on an outage, waited out). */
  private async process(r: Reader, msg: Message): Promise<void> {
    await this.handle(msg);
    if (!msg.retry) return;
    const { delayMs, reason } = msg.retry;
    r.retries.set(msg.entry.id, {
      source: msg.source,
      entry: msg.entry,
      deliveries: msg.deliveries,
      dueAt: Date.now() + delayMs,
    });
    if (reason === "infrastructure") await sleep(delayMs, this.stopping.signal); // don't pull more work into an outage
  }
}
