import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type pg from "pg";
import type { Logger } from "./logger.ts";
import { withDeadline } from "../shared/deadline.ts";

/** Seconds; from a couple of milliseconds (local handling) to a minute (a backlog being worked off). */
const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Probes run on scrape must never hold a scrape up for long (a dependency may be down). */
const PROBE_TIMEOUT_MS = 1_000;

/** Outbox rows counted at most (the count stays cheap however large a backlog grows). */
export const OUTBOX_COUNT_CAP = 100_000;

/**
 * The Prometheus registry of one process (or of one app started in-process by tests) and the
 * metrics the roles update. Gauges that describe external state (outbox backlog, consumer group lag,
 * live subscribers) are read when Prometheus scrapes, not maintained on the hot paths.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly relayPublished: Counter<"stream">;
  readonly consumerDuration: Histogram<"group" | "event_type" | "outcome">;
  readonly consumerRetries: Counter<"group" | "reason">;
  readonly deadLetters: Counter<"group" | "reason">;
  readonly deliveryLatency: Histogram<"stream">;
  readonly liveDelivered: Counter<"stream">;
  readonly liveCutOff: Counter<"stream">;
  readonly liveResumes: Counter<"stream" | "source">;
  readonly ready: Gauge;
  readonly readinessChanges: Counter;
  readonly rateLimiterFailOpen: Counter;

  constructor(private readonly log?: Logger) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.relayPublished = new Counter({
      name: "relay_published_events_total",
      help: "Outbox events the relay published to a stream (committed batches; a batch re-published after a crash counts again).",
      labelNames: ["stream"],
      registers,
    });
    this.consumerDuration = new Histogram({
      name: "consumer_processing_duration_seconds",
      help: "Time to process one stream entry in a consumer group: decode, inbox, handler and outbox in one transaction, and the acknowledgement. outcome: handled | duplicate | skipped | retry | dead-letter.",
      labelNames: ["group", "event_type", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.consumerRetries = new Counter({
      name: "consumer_retries_total",
      help: "Failed deliveries scheduled for another attempt. reason: infrastructure (database or Redis unavailable) | handler-error.",
      labelNames: ["group", "reason"],
      registers,
    });
    this.deadLetters = new Counter({
      name: "consumer_dead_letters_total",
      help: "Entries moved to the dead-letter stream, by reason (invalid-envelope, unknown-event-type, unknown-version, invalid-payload, permanent-error, max-deliveries-exceeded).",
      labelNames: ["group", "reason"],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: "live_commit_to_delivery_seconds",
      help: "From an event's occurredAt (stamped in the transaction that committed it) to the live hub handing it to its subscribers; live events only, not history replays.",
      labelNames: ["stream"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.liveDelivered = new Counter({
      name: "live_delivered_events_total",
      help: "Events handed to live subscribers (one per subscriber).",
      labelNames: ["stream"],
      registers,
    });
    this.liveCutOff = new Counter({
      name: "live_subscribers_cut_off_total",
      help: "Live subscribers disconnected because they fell a whole buffer behind (SLOW_SUBSCRIBER; they resume with their last cursor).",
      labelNames: ["stream"],
      registers,
    });
    this.liveResumes = new Counter({
      name: "live_resumes_total",
      help: "Subscriptions resumed with a cursor, by where their history came from. source: memory (the hub's replay cache) | stream (a replay pass reading the stream).",
      labelNames: ["stream", "source"],
      registers,
    });
    this.ready = new Gauge({
      name: "readiness_ready",
      help: "Outcome of this process's last readiness check (/ready): 1 ready, 0 not ready.",
      registers,
    });
    this.readinessChanges = new Counter({
      name: "readiness_changes_total",
      help: "Times this process's readiness check changed outcome (ready ↔ not ready); a rate of these is flapping.",
      registers,
    });
    this.rateLimiterFailOpen = new Counter({
      name: "rate_limiter_fail_open_total",
      help: "Mutations let through unlimited because the rate limiter's Redis was down or did not answer in time.",
      registers,
    });
  }

  /**
   * A module's own counter (the platform names no domain metric): registered on first use, the
   * same counter on every later one.
   */
  counter<L extends string>(spec: CounterSpec<L>): Counter<L> {
    const existing = this.registry.getSingleMetric(spec.name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [this.registry] });
  }

  /** Wraps a readiness check so each outcome is recorded (readiness_ready) and each change counted. */
  trackReadiness<T>(check: () => Promise<T>): () => Promise<T> {
    let last: boolean | undefined;
    const record = (ok: boolean) => {
      this.ready.set(ok ? 1 : 0);
      if (last !== undefined && last !== ok) this.readinessChanges.inc();
      last = ok;
    };
    return async () => {
      try {
        const result = await check();
        record(true);
        return result;
      } catch (err) {
        record(false);
        throw err;
      }
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Backlog and age of the oldest row: one bounded count and one primary-key lookup per scrape. */
  watchOutbox(pool: Queryable): void {
    const log = this.log;
    const probe = sharedProbe(() => probeOutbox(pool, log));
    new Gauge({
      name: "outbox_backlog",
      help: `Outbox rows not yet published (counted up to ${OUTBOX_COUNT_CAP}).`,
      registers: [this.registry],
      async collect() {
        const v = await probe();
        this.reset();
        if (v) this.set(v.backlog);
      },
    });
    new Gauge({
      name: "outbox_oldest_age_seconds",
      help: "Age of the oldest unpublished outbox row (0 when the outbox is empty).",
      registers: [this.registry],
      async collect() {
        const v = await probe();
        this.reset();
        if (v) this.set(v.age);
      },
    });
  }

  /** Lag (entries not yet delivered to the group) and pending (delivered, not acknowledged), via XINFO GROUPS. */
  watchConsumerGroups(redis: XinfoClient, groups: GroupStreams[]): void {
    const log = this.log;
    const probe = sharedProbe(() => probeConsumerGroups(redis, groups, log));
    new Gauge({
      name: "consumer_group_pending",
      help: "Entries delivered to the consumer group and not yet acknowledged (XINFO GROUPS pending).",
      labelNames: ["group", "stream"],
      registers: [this.registry],
      async collect() {
        const snapshot = await probe();
        this.reset();
        for (const s of snapshot) this.set({ group: s.group, stream: s.stream }, s.pending);
      },
    });
    new Gauge({
      name: "consumer_group_lag",
      help: "Entries on the stream not yet delivered to the consumer group (XINFO GROUPS lag; absent when Redis cannot tell, e.g. after deletions inside the range).",
      labelNames: ["group", "stream"],
      registers: [this.registry],
      async collect() {
        const snapshot = await probe();
        this.reset();
        for (const s of snapshot) if (s.lag !== null) this.set({ group: s.group, stream: s.stream }, s.lag);
      },
    });
  }

  /**
   * Dead letters waiting per stream: the XLEN of each partition's dead-letter stream, summed, on
   * scrape. The counter above says how many were written; this says whether any still wait for a
   * person (replayed or discarded letters leave it), so "the DLQ is not empty" can be alerted on.
   */
  watchDeadLetters(redis: XlenClient, streams: DeadLetterStreams[]): void {
    if (this.registry.getSingleMetric("dead_letters_waiting")) return;
    const log = this.log;
    const probe = sharedProbe(() => probeDeadLetters(redis, streams, log));
    new Gauge({
      name: "dead_letters_waiting",
      help: "Entries in the stream's dead-letter streams (XLEN of every partition's :dlq), waiting to be replayed or discarded.",
      labelNames: ["stream"],
      registers: [this.registry],
      async collect() {
        const snapshot = await probe();
        this.reset();
        if (snapshot) for (const [stream, n] of Object.entries(snapshot)) this.set({ stream }, n);
      },
    });
  }

  /** Live subscribers per stream (from the hubs) and open graphql-ws connections. */
  watchLive(subscribers: () => Record<string, number>): void {
    new Gauge({
      name: "live_subscriptions",
      help: "Live subscriptions registered with this process's stream hubs (WebSocket and SSE).",
      labelNames: ["stream"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [stream, n] of Object.entries(subscribers())) this.set({ stream }, n);
      },
    });
  }

  watchWebSockets(connections: () => number): void {
    if (this.registry.getSingleMetric("websocket_connections")) return;
    new Gauge({
      name: "websocket_connections",
      help: "Open graphql-ws WebSocket connections.",
      registers: [this.registry],
      collect() {
        this.set(connections());
      },
    });
  }
}

/** A counter a module declares (name, help, labels) and counts through the platform's registry. */
export interface CounterSpec<L extends string = string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/** What the outbox probe needs of a pool: a pg.Pool, or an adapter over another client. */
export type Queryable = Pick<pg.Pool, "query">;
export type XinfoClient = { xinfo(sub: "GROUPS", key: string): Promise<unknown> };
export type XlenClient = { xlen(key: string): Promise<number> };
/** A stream (as metrics label it) and the keys of its partitions' dead-letter streams. */
export interface DeadLetterStreams {
  stream: string;
  dlqKeys: string[];
}
/** A consumer group and the stream keys it reads (`name` is how metrics label the stream). */
export interface GroupStreams {
  group: string;
  streams: { name: string; key: string }[];
}
export interface GroupSample {
  group: string;
  stream: string;
  lag: number | null;
  pending: number;
}

/** Outbox backlog and oldest-row age, or null when Postgres does not answer in time (also used by `systemStatus`). */
export async function probeOutbox(pool: Queryable, log?: Logger): Promise<{ backlog: number; age: number } | null> {
  try {
    const { rows } = await withDeadline(
      PROBE_TIMEOUT_MS,
      "outbox probe",
      pool.query<{ backlog: string; age: number | null }>(
        `SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox LIMIT ${OUTBOX_COUNT_CAP}) b)::text AS backlog,
                (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8 FROM outbox ORDER BY id LIMIT 1) AS age`,
      ),
    );
    return { backlog: Number(rows[0]!.backlog), age: rows[0]!.age === null ? 0 : Math.max(0, rows[0]!.age) };
  } catch (err) {
    log?.debug({ err }, "outbox metrics unavailable");
    return null; // no sample rather than a wrong one
  }
}

/** Lag and pending per group and stream via XINFO GROUPS; empty when Redis does not answer (also used by `systemStatus`). */
export async function probeConsumerGroups(
  redis: XinfoClient,
  groups: GroupStreams[],
  log?: Logger,
): Promise<GroupSample[]> {
  const out: GroupSample[] = [];
  try {
    for (const { group, streams } of groups) {
      for (const stream of streams) {
        const info = (await withDeadline(
          PROBE_TIMEOUT_MS,
          "XINFO GROUPS",
          redis.xinfo("GROUPS", stream.key),
        )) as unknown[][];
        for (const raw of info) {
          const f = pairs(raw);
          if (f.name !== group) continue;
          out.push({
            group,
            stream: stream.name,
            pending: Number(f.pending ?? 0),
            lag: f.lag === null || f.lag === undefined ? null : Number(f.lag),
          });
        }
      }
    }
  } catch (err) {
    log?.debug({ err }, "consumer group metrics unavailable");
    return [];
  }
  return out;
}

/** Dead letters waiting per stream, or null when Redis does not answer in time (no sample rather than a wrong one). */
export async function probeDeadLetters(
  redis: XlenClient,
  streams: DeadLetterStreams[],
  log?: Logger,
): Promise<Record<string, number> | null> {
  const out: Record<string, number> = {};
  try {
    for (const { stream, dlqKeys } of streams) {
      let n = 0;
      for (const key of dlqKeys) n += await withDeadline(PROBE_TIMEOUT_MS, "XLEN dead letters", redis.xlen(key));
      out[stream] = n;
    }
  } catch (err) {
    log?.debug({ err }, "dead-letter metrics unavailable");
    return null;
  }
  return out;
}

/**
 * prom-client collects every metric of a scrape concurrently: gauges fed by one query share it
 * through this (one query per scrape, reused for 250 ms).
 */
function sharedProbe<T>(run: () => Promise<T>, reuseMs = 250): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > reuseMs) last = { at: now, value: run() };
    return last.value;
  };
}

function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}
