import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { duplicateRedis, type RedisClient } from "../infra/redis.ts";
import type pg from "pg";
import { inTransaction } from "../infra/sql-transaction.ts";
import type { Logger } from "../observability/logger.ts";
import type { Envelope } from "../events/envelope.ts";
import type { EventRegistry, StreamName } from "../events/registry.ts";
import { decodeEntry, type StreamEntry } from "../events/stream-entry.ts";
import { partitionKeys, readGroups, type StreamLayout } from "../events/partitions.ts";
import { continueTrace } from "../observability/trace.ts";
import { runInSpan, startSpan, SpanKind } from "../observability/tracing.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Role } from "../roles.ts";
import { appendToOutbox } from "../outbox/enqueue.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import { isInfrastructureError } from "../shared/infrastructure-errors.ts";
import { decideFailure, type RetryLimits } from "./failure-policy.ts";
import { deadLetter } from "./dead-letters.ts";
import type { ConsumerDefinition, Handler } from "./types.ts";

export interface PipelineOptions extends RetryLimits {
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

/** One partition of a stream this group reads. */
interface Source {
  stream: StreamName;
  key: string;
}

interface Delivery {
  source: Source;
  entry: StreamEntry;
  deliveries: number;
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
  retries: Map<string, Delivery & { dueAt: number }>;
}

type XReadGroupReply = [string, [string, string[] | null][]][] | null;

/**
 * The one consumer pipeline every worker runs (like a Watermill router with its middlewares):
 * XREADGROUP (blocking, batched) → decode/validate → inbox dedupe + handler + outbox in one
 * transaction → XACK. Failures are retried with backoff via XCLAIM; entries stuck on a dead
 * consumer are taken over with XAUTOCLAIM; what can never succeed goes to the dead-letter stream.
 */
export class ConsumerPipeline implements Role {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly stopping = new AbortController();
  private readonly sources: Source[];
  private readonly readers: Reader[];
  private loops: Promise<void>[] = [];
  private freeSlots: number;
  private readonly slotWaiters: (() => void)[] = [];
  readonly stats = { handled: 0, duplicates: 0, skipped: 0, retried: 0, deadLettered: 0, claimed: 0 };

  private looping = false;

  /** True from start() until stop(): the read loops catch every error and back off, they only end on stop (readiness). */
  get running(): boolean {
    return this.looping && !this.stopping.signal.aborted;
  }

  /** Records the processing time of an entry (since `started`) with its outcome. */
  private observe(type: string, outcome: "handled" | "duplicate" | "skipped" | "retry" | "dead-letter", started: number): void {
    if (!this.o.metrics) return;
    // Poison may carry any type: unknown ones share one label value.
    const eventType = this.o.events.has(type) ? type : "invalid";
    this.o.metrics.consumerDuration.observe({ group: this.def.group, event_type: eventType, outcome }, (performance.now() - started) / 1000);
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

  constructor(
    private readonly def: ConsumerDefinition,
    private readonly o: PipelineOptions,
  ) {
    this.freeSlots = o.concurrency;
    const layout = o.layout;
    this.sources = def.streams.flatMap((stream) => partitionKeys(layout, stream).map((key) => ({ stream, key })));
    this.readers = readGroups(this.sources, layout.cluster).map((sources, i) => ({
      sources,
      redis: i === 0 ? o.redis : duplicateRedis(o.redis),
      blocked: false,
      nextClaimAt: 0,
      retries: new Map(),
    }));
  }
  private get log() {
    return this.o.log;
  }

  async start(): Promise<void> {
    await this.ensureGroups();
    this.looping = true;
    this.loops = this.readers.map((r) => this.run(r));
    this.log.info({ group: this.def.group, consumer: this.consumer, streams: this.def.streams, partitions: this.o.layout.partitions }, "consumer started");
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
    for (const { key } of this.sources) {
      try {
        await this.o.redis.xgroup("CREATE", key, this.def.group, "0", "MKSTREAM");
      } catch (err) {
        if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
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

  private async read(r: Reader, blockMs: number): Promise<Delivery[]> {
    const args = r.sources.map((s) => s.key);
    r.blocked = blockMs > 0;
    try {
      const reply = (await r.redis.call(
        "XREADGROUP", "GROUP", this.def.group, this.consumer,
        "COUNT", this.o.readCount,
        ...(blockMs > 0 ? ["BLOCK", blockMs] : []),
        "STREAMS", ...args, ...args.map(() => ">"),
      )) as XReadGroupReply;
      return this.toDeliveries(r, reply);
    } finally {
      r.blocked = false;
    }
  }

  private toDeliveries(r: Reader, reply: XReadGroupReply): Delivery[] {
    const out: Delivery[] = [];
    for (const [key, entries] of reply ?? []) {
      const source = r.sources.find((s) => s.key === key)!;
      for (const [id, fields] of entries) if (fields) out.push({ source, entry: decodeEntry(id, fields), deliveries: 1 });
    }
    return out;
  }

  /** Our own failed entries whose backoff has elapsed, re-taken with XCLAIM (which counts a delivery). */
  private async takeDueRetries(r: Reader): Promise<Delivery[]> {
    const now = Date.now();
    const out: Delivery[] = [];
    for (const [id, retry] of r.retries) {
      if (retry.dueAt > now) continue;
      r.retries.delete(id);
      // Min idle = 0 would steal it back from a consumer that claimed it meanwhile; 1 ms is enough
      // to refuse an entry someone is processing right now (their claim reset its idle time).
      const claimed = (await r.redis.call("XCLAIM", retry.source.key, this.def.group, this.consumer, 1, id)) as [string, string[]][];
      for (const [cid, fields] of claimed) if (fields) out.push({ source: retry.source, entry: decodeEntry(cid, fields), deliveries: retry.deliveries + 1 });
    }
    return out;
  }

  /** Takes over entries left pending by consumers that stopped answering (crashed, killed, partitioned). */
  private async claimStale(r: Reader): Promise<Delivery[]> {
    r.nextClaimAt = Date.now() + Math.max(100, Math.floor(this.o.claimIdleMs / 2));
    const out: Delivery[] = [];
    for (const source of r.sources) {
      const { key, stream } = source;
      const [, entries] = (await r.redis.xautoclaim(key, this.def.group, this.consumer, this.o.claimIdleMs, "0-0", "COUNT", this.o.readCount)) as [string, [string, string[] | null][], string[]?];
      const live = entries.filter(([, fields]) => fields);
      if (live.length === 0) continue;
      // XAUTOCLAIM does not say how often an entry was delivered; the pending entries list does.
      const pending = (await r.redis.xpending(key, this.def.group, live[0]![0], live.at(-1)![0], live.length * 2, this.consumer)) as [string, string, number, number][];
      const counts = new Map(pending.map(([id, , , n]) => [id, n]));
      for (const [id, fields] of live) out.push({ source, entry: decodeEntry(id, fields!), deliveries: counts.get(id) ?? 1 });
      this.stats.claimed += live.length;
      this.log.warn({ group: this.def.group, stream, key, count: live.length, ids: live.map(([id]) => id) }, "claimed entries from an unresponsive consumer");
    }
    return out;
  }

  /** Aggregates in parallel (bounded), each aggregate's entries in stream order. */
  private async processBatch(r: Reader, batch: Delivery[]): Promise<void> {
    if (batch.length === 0) return;
    const byAggregate = new Map<string, Delivery[]>();
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

  private async process(r: Reader, d: Delivery): Promise<void> {
    const { entry, source } = d;
    const handler = (this.def.handlers as Record<string, Handler | undefined>)[entry.type];
    const started = performance.now();
    if (!handler && this.o.events.has(entry.type)) {
      // Someone else's event on a stream we read: acknowledge without parsing.
      await r.redis.xack(source.key, this.def.group, entry.id);
      this.stats.skipped++;
      this.observe(entry.type, "skipped", started);
      return;
    }
    let envelope: Envelope | undefined;
    try {
      envelope = this.o.events.parseJson(entry.json);
      await this.handle(handler!, envelope, started);
      await r.redis.xack(source.key, this.def.group, entry.id);
    } catch (err) {
      await this.onFailure(r, d, envelope, err, started);
    }
  }

  /** `receivedAt`: when processing of the entry began (the duration metric); the log line times the transaction. */
  private async handle(handler: Handler, event: Envelope, receivedAt: number): Promise<void> {
    // A consumer span, child of the span that emitted the event: the events this handler emits carry it as their parent.
    const span = startSpan(`${this.def.group} process ${event.eventType}`, event.traceparent, {
      kind: SpanKind.CONSUMER,
      attributes: { "messaging.system": "redis", "messaging.consumer.group.name": this.def.group, "messaging.message.id": event.eventId },
    });
    const trace = span.trace;
    const log = this.log.child({ traceId: trace.traceId, eventId: event.eventId, eventType: event.eventType, aggregateId: event.aggregateId, group: this.def.group });
    const started = performance.now();
    const outcome = await runInSpan(span, () => inTransaction(this.o.pool, async (tx) => {
      // Inbox first: a concurrent duplicate waits here on the key, then sees the conflict.
      const fresh = await tx.$executeRaw`INSERT INTO processed_events (consumer, event_id) VALUES (${this.def.group}, ${event.eventId}::uuid) ON CONFLICT DO NOTHING`;
      if (fresh === 0) return "duplicate" as const;
      const emitted = await handler(tx, event, {
        log,
        cause: { trace, correlationId: event.correlationId, causationId: event.eventId },
      });
      await appendToOutbox(tx, this.o.events, emitted);
      return emitted.map((e) => e.eventType);
    }));
    if (outcome === "duplicate") {
      this.stats.duplicates++;
      this.observe(event.eventType, "duplicate", receivedAt);
      log.info("event already processed; skipped");
    } else {
      this.stats.handled++;
      this.observe(event.eventType, "handled", receivedAt);
      log.info({ emitted: outcome, ms: Math.round(performance.now() - started) }, "event handled");
    }
  }

  private async onFailure(r: Reader, d: Delivery, envelope: Envelope | undefined, err: unknown, startedAt: number): Promise<void> {
    const infrastructure = isInfrastructureError(err);
    const decision = decideFailure(err, d.deliveries, this.o, isInfrastructureError);
    const traceId = envelope ? continueTrace(envelope.traceparent).traceId : undefined;
    const context = { err, traceId, group: this.def.group, stream: d.source.stream, key: d.source.key, entryId: d.entry.id, eventType: d.entry.type, deliveries: d.deliveries };
    if (decision.action === "retry") {
      this.stats.retried++;
      this.o.metrics?.consumerRetries.inc({ group: this.def.group, reason: infrastructure ? "infrastructure" : "handler-error" });
      this.observe(d.entry.type, "retry", startedAt);
      r.retries.set(d.entry.id, { ...d, dueAt: Date.now() + decision.delayMs });
      this.log.warn({ ...context, retryInMs: decision.delayMs }, "event failed; will retry");
      if (infrastructure) await sleep(decision.delayMs, this.stopping.signal); // don't pull more work into an outage
      return;
    }
    const error = err instanceof Error ? err.message : String(err);
    const id = await deadLetter(r.redis, d.source.key, d.entry, {
      group: this.def.group, consumer: this.consumer, deliveries: d.deliveries, reason: decision.reason, error,
    });
    this.stats.deadLettered++;
    this.o.metrics?.deadLetters.inc({ group: this.def.group, reason: decision.reason });
    this.observe(d.entry.type, "dead-letter", startedAt);
    this.log.error({ ...context, reason: decision.reason, deadLetterId: id }, "event dead-lettered");
  }
}
