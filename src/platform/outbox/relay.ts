import pg from "pg";
import type { RedisClient } from "../infra/redis.ts";
import type { Logger } from "../observability/logger.ts";
import type { Envelope } from "../events/envelope.ts";
import { OUTBOX_LANES } from "../events/lanes.ts";
import { encodeEntryFields } from "../events/stream-entry.ts";
import { keyForAggregate, type StreamLayout } from "../events/partitions.ts";
import type { EventRegistry, StreamName } from "../events/registry.ts";
import { parseTraceparent } from "../observability/trace.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import {
  connectionSettings,
  DEFAULT_DATABASE_TIMEOUTS,
  guardSilence,
  SILENCE_MARGIN_MS,
  type DatabaseTimeouts,
} from "../infra/database.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Role } from "../roles.ts";
import { recordSpan, SpanKind } from "../observability/tracing.ts";

export interface RelayOptions {
  pool: pg.Pool;
  /** Used for a dedicated LISTEN connection (a pooled client cannot hold LISTEN). */
  databaseUrl: string;
  /** Bounds for the LISTEN connection (the pool has its own). */
  databaseTimeouts?: DatabaseTimeouts;
  /** How often the LISTEN connection is checked with a round trip (default: the statement timeout); a silent one is replaced (re-LISTEN). */
  listenerCheckMs?: number;
  redis: RedisClient;
  /** Validates each row's envelope and gives its routing keys. */
  events: EventRegistry;
  layout: StreamLayout;
  log: Logger;
  batchSize: number;
  /** Fallback poll interval when no NOTIFY arrives (lost notification, listener reconnecting). */
  pollMs: number;
  /** Runs after the batch is on the stream and before the outbox rows are deleted (tests crash here). */
  beforeCommit?: (published: number) => Promise<void> | void;
  metrics?: Metrics;
}

interface OutboxRow {
  id: string;
  stream: StreamName;
  aggregateId: string;
  envelope: string;
}

/** Arbitrary constant: namespaces the relay's advisory locks (lane number is the second key). */
const LOCK_NAMESPACE = 0x0b0c;

/**
 * BEGIN, then in the same round trip: take the lanes no other relay holds (advisory xact locks, so
 * a crashed relay's locks vanish with its connection), then the oldest rows of those lanes.
 * FOR UPDATE SKIP LOCKED also drops rows that a relay which held the lane a moment ago has deleted
 * since this statement's snapshot. Sent as one simple-protocol query (two statements), so its
 * parameters are integers inlined here.
 */
function claimBatch(lanes: number[], batchSize: number): string {
  return `BEGIN;
  WITH lanes AS (
    SELECT l FROM unnest('{${lanes.map(integer).join(",")}}'::int[]) AS l
    WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.lane = l) AND pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, l)
  )
  SELECT o.id::text AS id, o.stream, o.aggregate_id AS "aggregateId", o.envelope::text AS envelope
  FROM outbox o WHERE o.lane IN (SELECT l FROM lanes)
  ORDER BY o.id LIMIT ${integer(batchSize)}
  FOR UPDATE SKIP LOCKED`;
}

/** The published rows' delete and the commit, in one round trip; ids are the bigints Postgres gave us. */
function deleteAndCommit(rows: OutboxRow[]): string {
  return `DELETE FROM outbox WHERE id = ANY('{${rows.map((r) => integer(r.id)).join(",")}}'::bigint[]); COMMIT`;
}

function integer(value: number | string): string {
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new Error(`not a non-negative integer: ${text}`);
  return text;
}

/**
 * Moves committed outbox rows to Redis Streams: at-least-once (a crash after XADD and before the
 * delete publishes the batch again; consumers dedupe by event id) and in order per aggregate.
 */
export class OutboxRelay implements Role {
  readonly name = "relay";
  private readonly stopping = new AbortController();
  private wakeUp: (() => void) | undefined;
  /** A NOTIFY arrived while no one was waiting (mid-batch): the next wait returns at once instead of sleeping pollMs. */
  private woken = false;
  private listener: pg.Client | undefined;
  private loop: Promise<void> | undefined;
  published = 0;
  private alive = false;

  /** True while the publish loop runs (readiness). */
  get running(): boolean {
    return this.alive;
  }
  private readonly layout: StreamLayout;

  constructor(private readonly o: RelayOptions) {
    this.layout = o.layout;
  }

  start(): void {
    void this.listen();
    this.alive = true;
    this.loop = this.run().finally(() => (this.alive = false));
  }

  /** Finishes the batch in flight, then returns. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wakeUp?.();
    await this.loop;
    // end() waits for the server's goodbye, which a dead path never sends.
    await Promise.race([this.listener?.end().catch(() => {}), sleep(1_000)]);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        this.woken = false; // this batch's snapshot sees every commit notified so far
        const moved = await this.drainOnce();
        failures = 0;
        if (moved > 0) continue; // more may be waiting: keep going until a batch comes back empty
        await this.waitForWork();
      } catch (err) {
        const delay = backoffDelay(failures++, 200, 5_000);
        this.o.log.warn({ err, retryInMs: delay }, "relay batch failed; outbox rows kept for retry");
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  /** One transaction: claim a batch, XADD it atomically (MULTI), delete the rows, commit. Two round trips to Postgres. */
  async drainOnce(): Promise<number> {
    const client = await this.o.pool.connect();
    let broken: Error | undefined;
    try {
      const [, claimed] = (await client.query(claimBatch(shuffledLanes(), this.o.batchSize))) as unknown as [
        pg.QueryResult,
        pg.QueryResult<OutboxRow>,
      ];
      const rows = claimed.rows;
      const claimedAt = Date.now();
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      const envelopes = rows.map((row) => this.decode(row));
      const cursors = await this.publish(rows, envelopes);
      await this.o.beforeCommit?.(rows.length);
      await client.query(deleteAndCommit(rows));
      this.published += rows.length;
      this.logPublished(rows, envelopes, cursors);
      this.observePublished(rows, envelopes, claimedAt);
      return rows.length;
    } catch (err) {
      broken = err as Error;
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * On a single Redis the whole batch is one MULTI, as always. On a cluster a MULTI may only touch
   * one slot, so there is one MULTI per partition, sent concurrently: an aggregate's rows all go to
   * its partition, in id order, so its order holds; if one MULTI fails the rows stay in the outbox
   * and the partitions that succeeded get them again (at-least-once, as after a crash).
   */
  private async publish(rows: OutboxRow[], envelopes: (Envelope | undefined)[]): Promise<string[]> {
    const keys = rows.map((r) => keyForAggregate(this.layout, r.stream, r.aggregateId));
    const groups = new Map<string, number[]>();
    rows.forEach((_, i) => {
      const group = this.layout.cluster ? keys[i]! : "";
      if (groups.has(group)) groups.get(group)!.push(i);
      else groups.set(group, [i]);
    });
    const cursors = new Array<string>(rows.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const multi = this.o.redis.multi();
        for (const i of indexes) multi.xadd(keys[i]!, "*", ...this.fieldsOf(rows[i]!, envelopes[i]));
        const results = await multi.exec();
        if (!results) throw new Error("MULTI aborted");
        results.forEach(([err, id], j) => {
          if (err) throw err;
          cursors[indexes[j]!] = id as string;
        });
      }),
    );
    return cursors;
  }

  /** The row's envelope, validated once per batch (entry fields and log lines both use it); undefined if invalid. */
  private decode(row: OutboxRow): Envelope | undefined {
    try {
      return this.o.events.parseJson(row.envelope);
    } catch (err) {
      // Still published: consumers dead-letter it with the reason, where an operator can see it.
      this.o.log.error(
        { err, outboxId: row.id },
        "outbox row holds an invalid envelope; publishing it for dead-lettering",
      );
      return undefined;
    }
  }

  /** XADD fields of a row: its envelope's, or an entry typed "invalid" that consumers dead-letter. */
  private fieldsOf(row: OutboxRow, envelope: Envelope | undefined): string[] {
    return envelope
      ? encodeEntryFields(envelope, this.o.events.routingKeys(envelope), row.envelope)
      : ["type", "invalid", "agg", "", "keys", "", "env", row.envelope];
  }

  private logPublished(rows: OutboxRow[], envelopes: (Envelope | undefined)[], cursors: string[]): void {
    if (!this.o.log.isLevelEnabled("info")) return;
    rows.forEach((row, i) => {
      const e = envelopes[i];
      this.o.log.info(
        {
          traceId: parseTraceparent(e?.traceparent)?.traceId,
          eventId: e?.eventId,
          eventType: e?.eventType,
          aggregateId: e?.aggregateId ?? row.aggregateId,
          stream: row.stream,
          cursor: cursors[i],
        },
        "relay published event",
      );
    });
  }

  /** relay_published_events_total, and a producer span per event (child of the event's traceparent) when spans are exported. */
  private observePublished(rows: OutboxRow[], envelopes: (Envelope | undefined)[], claimedAt: number): void {
    const perStream = new Map<string, number>();
    rows.forEach((row, i) => {
      perStream.set(row.stream, (perStream.get(row.stream) ?? 0) + 1);
      recordSpan(
        `relay publish ${row.stream}`,
        envelopes[i]?.traceparent ?? traceparentOf(row.envelope),
        claimedAt,
        { "messaging.system": "redis", "messaging.destination.name": row.stream, "outbox.id": row.id },
        SpanKind.PRODUCER,
      );
    });
    for (const [stream, n] of perStream) this.o.metrics?.relayPublished.inc({ stream }, n);
  }

  private wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  private waitForWork(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.o.pollMs);
      this.wakeUp = done;
    });
  }

  /**
   * LISTEN on "outbox" (the table's insert trigger NOTIFYs); reconnects with backoff, polling covers
   * the gap. A path that dies silently closes nothing, so the connection is also checked with a
   * round trip every listenerCheckMs: no answer within the statement timeout (+ margin) destroys
   * it, and the loop connects and LISTENs again.
   */
  private async listen(): Promise<void> {
    const timeouts = this.o.databaseTimeouts ?? DEFAULT_DATABASE_TIMEOUTS;
    const checkMs = this.o.listenerCheckMs ?? timeouts.statementMs;
    let failures = 0;
    let lost = false;
    while (!this.stopping.signal.aborted) {
      const client = new pg.Client({
        connectionString: this.o.databaseUrl,
        application_name: "outbox-relay-listener",
        ...connectionSettings(timeouts),
      });
      guardSilence(client, timeouts.statementMs + SILENCE_MARGIN_MS);
      let check: NodeJS.Timeout | undefined;
      try {
        const closed = new Promise<void>((resolve) => {
          client.on("error", () => resolve());
          client.on("end", () => resolve());
        });
        await client.connect();
        client.on("notification", () => this.wake());
        await client.query("LISTEN outbox");
        this.listener = client;
        failures = 0;
        if (lost) this.o.log.info("outbox listener re-established (LISTEN)");
        lost = false;
        this.wake(); // rows may have arrived while we were not listening
        check = setInterval(() => void client.query("SELECT 1").catch(() => {}), checkMs);
        await closed;
      } catch (err) {
        this.o.log.debug({ err }, "outbox listener failed");
      }
      clearInterval(check);
      if (!this.stopping.signal.aborted && !lost) {
        lost = true;
        this.o.log.warn("outbox listener lost; polling every %d ms until it is back", this.o.pollMs);
      }
      // end() waits for the server's goodbye, which a dead path never sends.
      await Promise.race([client.end().catch(() => {}), sleep(1_000, this.stopping.signal)]);
      if (!this.stopping.signal.aborted) await sleep(backoffDelay(failures++, 200, 5_000), this.stopping.signal);
    }
  }
}

/** The traceparent of an envelope that failed validation: its producer span still joins that trace. */
function traceparentOf(envelope: string): string | undefined {
  return /"traceparent":\s*"([^"]+)"/.exec(envelope)?.[1];
}

/** Lanes in random order, so several relays tend to pick disjoint lanes rather than queue on one. */
function shuffledLanes(): number[] {
  const lanes = Array.from({ length: OUTBOX_LANES }, (_, i) => i);
  for (let i = lanes.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [lanes[i], lanes[j]] = [lanes[j]!, lanes[i]!];
  }
  return lanes;
}
