import pg from "pg";
import type { Cluster } from "ioredis";
import type { RedisClient } from "../infra/redis.ts";
import type { Logger } from "../observability/logger.ts";
import type { Envelope } from "../events/envelope.ts";
import { fnv1a, OUTBOX_LANES } from "../events/lanes.ts";
import { encodeEntryFields } from "../events/stream-entry.ts";
import { keyForAggregate, partitionKeys, type StreamLayout } from "../events/partitions.ts";
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
  /**
   * Replicas that must hold a batch (Redis WAIT) before its rows are deleted; 0: the master's reply
   * is enough. With 1+ a failover cannot lose entries the relay has already removed from the
   * outbox. Only replicas the master has (online, acknowledging) count: a master left without one
   * (its replica was just promoted away from it, or died) is not waited for — there is no replica
   * a failover could promote, so waiting would only stall its partition until one is added.
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
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
 * What one publish loop of the relay covers. On a single Redis: everything, one MULTI per batch,
 * as always. On a Redis Cluster: one stream partition (one key, one slot, one master), so a
 * partition whose master is down stalls only its own loop while the others keep publishing.
 */
export interface RelayUnit {
  /** The partition's stream key, or "" for the single-Redis unit that covers every stream. */
  key: string;
  /** Only rows of this stream and partition (cluster units). */
  only?: { stream: StreamName; partition: number; partitions: number };
  /** First key of the unit's (unit, lane) advisory locks (cluster units). */
  lockKey?: number;
}

/** The relay's units for a layout: one per stream partition on a cluster, one for all on a single Redis. */
export function relayUnits(layout: StreamLayout, streams: readonly StreamName[]): RelayUnit[] {
  if (!layout.cluster) return [{ key: "" }];
  return streams.flatMap((stream) =>
    partitionKeys(layout, stream).map((key, partition) => ({
      key,
      only: { stream, partition, partitions: layout.partitions },
      // Signed int4, as pg_try_advisory_xact_lock(int, int) takes it. Two units hashing alike would
      // merely share their locks (more exclusion, never less).
      lockKey: fnv1a(`relay:${key}`) | 0,
    })),
  );
}

/**
 * BEGIN, then in the same round trip: take the lanes no other relay holds (advisory xact locks, so
 * a crashed relay's locks vanish with its connection), then the oldest rows of those lanes.
 * FOR UPDATE SKIP LOCKED also drops rows that a relay which held the lane a moment ago has deleted
 * since this statement's snapshot. Sent as one simple-protocol query (two statements), so its
 * parameters are integers (and a checked stream name) inlined here.
 *
 * A cluster unit takes the lock (unit, lane) instead of (namespace, lane) and only the rows of its
 * partition (`agg_hash % partitions`). It also takes (namespace, lane) *shared*: relays of this
 * version share it among themselves, while a relay of the previous version (one exclusive lock
 * per lane for all partitions) still excludes them, and they it, during a rolling update.
 */
export function claimBatch(lanes: number[], batchSize: number, unit: RelayUnit = { key: "" }): string {
  const only = unit.only
    ? ` AND o.stream = '${streamName(unit.only.stream)}' AND o.agg_hash % ${integer(unit.only.partitions)} = ${integer(unit.only.partition)}`
    : "";
  const lock =
    unit.lockKey === undefined
      ? `pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, l)`
      : `pg_try_advisory_xact_lock_shared(${LOCK_NAMESPACE}, l) AND pg_try_advisory_xact_lock(${signedInteger(unit.lockKey)}, l)`;
  return `BEGIN;
  WITH lanes AS (
    SELECT l FROM unnest('{${lanes.map(integer).join(",")}}'::int[]) AS l
    WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.lane = l${only}) AND ${lock}
  )
  SELECT o.id::text AS id, o.stream, o.aggregate_id AS "aggregateId", o.envelope::text AS envelope
  FROM outbox o WHERE o.lane IN (SELECT l FROM lanes)${only}
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

function signedInteger(value: number): string {
  const text = String(value);
  if (!/^-?\d+$/.test(text)) throw new Error(`not an integer: ${text}`);
  return text;
}

function streamName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`not a stream name: ${name}`);
  return name;
}

/**
 * Moves committed outbox rows to Redis Streams: at-least-once (a crash after XADD and before the
 * delete publishes the batch again; consumers dedupe by event id) and in order per aggregate.
 *
 * One publish loop per unit (see RelayUnit): on a Redis Cluster one per stream partition, each
 * with its own transaction, its own retry and back-off, so a partition whose master is down (or
 * failing over) delays only the events of that partition. Why each aggregate's order still holds:
 * - all rows of an aggregate (on one stream) are in one unit (same hash → same partition) and one
 *   lane (same hash → same lane), so exactly one (unit, lane) lock guards all of them, and at most
 *   one loop of one relay holds it at a time;
 * - that loop takes the lane's rows oldest first (ORDER BY id) and sends them in one MULTI to the
 *   one key they belong to, so they enter the stream in id order;
 * - it deletes them only after EXEC answered for every one of them; if the MULTI fails (or
 *   stalls, then fails), the transaction rolls back and the rows stay, still the oldest of their
 *   lane, so the next attempt (after this unit's own back-off) starts again with them and no later
 *   event of those aggregates can be published before them. Other units never see these rows.
 * A MULTI that ran but whose reply was lost is published again: a duplicate entry after the
 * originals, never a reordering (at-least-once, deduped by event id, as after a crash).
 */
export class OutboxRelay implements Role {
  readonly name = "relay";
  private readonly stopping = new AbortController();
  /** Per unit: a pending wait to cut short, and whether a NOTIFY arrived while that loop was busy. */
  private readonly waits: { wakeUp?: (() => void) | undefined; woken: boolean }[];
  private listener: pg.Client | undefined;
  private loop: Promise<void> | undefined;
  /** Per unit key: how many live replicas its master had at the last batch (what WAIT asks for next). */
  private readonly liveReplicas = new Map<string, number>();
  published = 0;
  private alive = false;
  readonly units: readonly RelayUnit[];

  /** True while the publish loops run (readiness). */
  get running(): boolean {
    return this.alive;
  }
  private readonly layout: StreamLayout;

  constructor(private readonly o: RelayOptions) {
    this.layout = o.layout;
    this.units = relayUnits(o.layout, o.events.streams);
    this.waits = this.units.map(() => ({ woken: false }));
  }

  start(): void {
    void this.listen();
    this.alive = true;
    this.loop = Promise.all(this.units.map((_, u) => this.run(u)))
      .then(() => undefined)
      .finally(() => (this.alive = false));
  }

  /** Finishes the batches in flight, then returns. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.loop;
    // end() waits for the server's goodbye, which a dead path never sends.
    await Promise.race([this.listener?.end().catch(() => {}), sleep(1_000)]);
  }

  /** One unit's loop: its own failures count and back-off, independent of the other units. */
  private async run(u: number): Promise<void> {
    const unit = this.units[u]!;
    const wait = this.waits[u]!;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        wait.woken = false; // this batch's snapshot sees every commit notified so far
        const moved = await this.drainUnit(unit);
        if (failures > 0) this.o.log.info({ partition: unit.key || undefined, failures }, "relay publishing again");
        failures = 0;
        if (moved > 0) continue; // more may be waiting: keep going until a batch comes back empty
        await this.waitForWork(u);
      } catch (err) {
        // Capped at 1 s: a partition whose master fails over resumes within a second of the promotion
        // (a retry costs one short transaction); the other units are not affected either way.
        const delay = backoffDelay(failures++, 100, 1_000);
        this.o.log.warn(
          { err, partition: unit.key || undefined, retryInMs: delay },
          "relay batch failed; outbox rows kept for retry",
        );
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  /** One batch of every unit (tests and benchmarks; the loops call drainUnit). Rejects if any unit failed. */
  async drainOnce(): Promise<number> {
    const moved = await Promise.allSettled(this.units.map((unit) => this.drainUnit(unit)));
    const failed = moved.find((m) => m.status === "rejected");
    if (failed) throw failed.reason;
    return moved.reduce((sum, m) => sum + (m.status === "fulfilled" ? m.value : 0), 0);
  }

  /** One transaction: claim a unit's batch, XADD it atomically (MULTI), delete the rows, commit. Two round trips to Postgres. */
  private async drainUnit(unit: RelayUnit): Promise<number> {
    const client = await this.o.pool.connect();
    let broken: Error | undefined;
    try {
      const [, claimed] = (await client.query(claimBatch(shuffledLanes(), this.o.batchSize, unit))) as unknown as [
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
      const cursors = await this.publish(unit, rows, envelopes);
      await this.o.beforeCommit?.(rows.length);
      await client.query(deleteAndCommit(rows));
      this.published += rows.length;
      this.logPublished(rows, envelopes, cursors);
      this.observePublished(rows, envelopes, claimedAt);
      return rows.length;
    } catch (err) {
      // A Redis failure leaves the connection fine: keep it (a new one costs a handshake, slow under
      // load, and is what every failing partition would need at once). Discard it only if it broke.
      await client.query("ROLLBACK").catch(() => (broken = err as Error));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * One MULTI for the batch: a unit's rows all go to keys of one slot on a cluster (its partition),
   * or to a single Redis. An aggregate's rows are in id order within it, so its order holds.
   *
   * The transaction is sent alone: ioredis then follows MOVED/ASK and waits out a failover for it.
   * (In one pipeline with WAIT it was not retried — ioredis retries a cluster pipeline only if its
   * other commands are read-only — and, as ioredis learns a slot's new master only by following a
   * redirect or refreshing, every retry went to a master that no longer served the partition:
   * EXECABORT over and over, ~55 s of stall after a failover.)
   */
  private async publish(unit: RelayUnit, rows: OutboxRow[], envelopes: (Envelope | undefined)[]): Promise<string[]> {
    const multi = this.o.redis.multi();
    rows.forEach((row, i) =>
      multi.xadd(keyForAggregate(this.layout, row.stream, row.aggregateId), "*", ...this.fieldsOf(row, envelopes[i])),
    );
    const ids = idsOf(await multi.exec());
    if ((this.o.waitReplicas ?? 0) > 0) await this.awaitReplicas(unit, rows, ids);
    return ids;
  }

  /** The replicas a batch must reach on this master: the configured number, or fewer if it has fewer live ones. */
  private replicasToAwait(unit: RelayUnit, info: unknown): number {
    const live = typeof info === "string" ? liveReplicasIn(info) : (this.o.waitReplicas ?? 0);
    if (live < (this.liveReplicas.get(unit.key) ?? Infinity) && live < (this.o.waitReplicas ?? 0))
      this.o.log.warn(
        { partition: unit.key || undefined, liveReplicas: live, waitReplicas: this.o.waitReplicas },
        "partition master has fewer live replicas than RELAY_WAIT_REPLICAS; waiting only for those",
      );
    this.liveReplicas.set(unit.key, live);
    return Math.min(this.o.waitReplicas ?? 0, live);
  }

  /**
   * Deletes nothing until enough replicas hold the batch. Publishing it again would duplicate it,
   * so ask instead, on the key's current master (right after EXEC that is the same connection, so
   * WAIT covers our write): does it hold the batch's last entry (replication is in order, so then it
   * holds all), how many live replicas has it (INFO), and WAIT for them. The rows stay locked
   * meanwhile: this partition waits, the others go on. If a failover lost the batch, fail: the rows
   * are published again.
   */
  private async awaitReplicas(unit: RelayUnit, rows: OutboxRow[], ids: string[]): Promise<void> {
    const replicas = this.o.waitReplicas ?? 0;
    const key = keyForAggregate(this.layout, rows.at(-1)!.stream, rows.at(-1)!.aggregateId);
    const last = ids.at(-1)!;
    for (let attempt = 0; ; attempt++) {
      if (this.stopping.signal.aborted) throw new Error("stopping while waiting for replicas; rows kept");
      // As many as the master had at the last look: one without replicas does not cost every batch the timeout.
      const expected = Math.min(replicas, this.liveReplicas.get(unit.key) ?? replicas);
      // Any failure here is waited out, never thrown (that would publish the batch again), except
      // an error reply that is no redirect (ACL, WAIT refused…): retrying would not change it.
      let transport = false;
      const [[failed, found] = [], [, info] = [], [, acked] = []] =
        (await this.o.redis
          .pipeline()
          .xrange(key, last, last)
          .info("replication")
          .call("WAIT", String(expected), String(this.o.waitTimeoutMs ?? 1000))
          .exec()
          .catch((err: Error) => ((transport = true), [[err]] as [Error][]))) ?? [];
      if (failed) {
        // ioredis does not retry this pipeline on MOVED (WAIT is a write): learn where the partition went.
        if (transport || isRedirect(failed)) await refreshSlots(this.o.redis);
        else throw failed;
      } else if (Array.isArray(found) && found.length === 0) {
        throw new Error(`a failover lost the batch ending at ${key} ${last}; publishing it again`);
      } else if (Number(acked) >= this.replicasToAwait(unit, info)) {
        return;
      }
      if (attempt === 0)
        this.o.log.warn({ partition: key, replicas, acked }, "waiting for replicas to acknowledge a published batch");
      await sleep(backoffDelay(attempt, 50, 1_000), this.stopping.signal);
    }
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

  /** Wakes the loops that have new rows (per the NOTIFY payload), or all of them. */
  private wake(payload?: string): void {
    const units = payload ? unitsNotified(this.units, payload) : undefined;
    this.waits.forEach((wait, u) => {
      if (units && !units.has(u)) return;
      if (wait.wakeUp) wait.wakeUp();
      else wait.woken = true;
    });
  }

  private waitForWork(u: number): Promise<void> {
    const wait = this.waits[u]!;
    if (wait.woken || this.stopping.signal.aborted) {
      wait.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wait.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.o.pollMs);
      wait.wakeUp = done;
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
        client.on("notification", (n) => this.wake(n.payload));
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

/**
 * Replicas an `INFO replication` reply lists as online and acknowledging: a replica ACKs every
 * second, so one silent for longer than Redis's own min-replicas-max-lag default (10 s) is presumed
 * gone (a dead host's connection may take the master much longer to notice).
 */
export function liveReplicasIn(info: string): number {
  let live = 0;
  for (const m of info.matchAll(/^slave\d+:.*$/gm)) {
    const lag = /(?:^|,)lag=(\d+)/.exec(m[0].slice(m[0].indexOf(":") + 1));
    if (/(?:^|[:,])state=online(?:,|$)/.test(m[0]) && lag && Number(lag[1]) <= 10) live++;
  }
  return live;
}

/**
 * The indexes of the units a NOTIFY payload ("stream:agg_hash,…", see the outbox_notify trigger)
 * names; undefined (wake all) if it names something no unit covers or cannot be read, so an
 * unexpected payload costs a few empty batches, never a missed row. The single-Redis unit covers all.
 */
export function unitsNotified(units: readonly RelayUnit[], payload: string): Set<number> | undefined {
  const woken = new Set<number>();
  for (const pair of payload.split(",")) {
    const colon = pair.lastIndexOf(":");
    if (colon < 0 || !/^\d+$/.test(pair.slice(colon + 1))) return undefined;
    const stream = pair.slice(0, colon);
    const hash = Number(pair.slice(colon + 1));
    const u = units.findIndex(
      (unit) => !unit.only || (unit.only.stream === stream && unit.only.partition === hash % unit.only.partitions),
    );
    if (u < 0) return undefined;
    woken.add(u);
  }
  return woken;
}

/** A cluster redirect or failover reply: the slot's master is elsewhere, or about to be. */
function isRedirect(err: Error): boolean {
  return /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/.test(err.message) || err.message === "Connection is closed.";
}

/** Asks a cluster client to reload its slot map now (a single Redis has none). */
function refreshSlots(redis: RedisClient): Promise<void> {
  if (!redis.isCluster) return Promise.resolve();
  return new Promise((resolve) => (redis as Cluster).refreshSlotsCache(() => resolve()));
}

/** The entry ids of an EXEC reply, or its first error. */
function idsOf(results: [Error | null, unknown][] | null): string[] {
  if (!results) throw new Error("MULTI aborted");
  return results.map(([err, id]) => {
    if (err) throw err;
    return id as string;
  });
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
