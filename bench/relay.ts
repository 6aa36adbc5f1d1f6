import { singleLayout } from "../test/support/streams.ts";
/**
 * relay — OutboxRelay draining an outbox backlog, against raw XADD and DELETE rates.
 *
 *   npm run bench -- relay [--events 100000] [--batch 500,1000,2000] [--no-info-log] [--timeout 300]
 *
 * What it does (one scratch database, one stream prefix, both removed at the end):
 *  1. builds the backlog once, in memory, with the app's own code: per order an OrderCreated (two
 *     items), a StockReserved and an OrderConfirmed, each `eventCatalog.create(...)` (validated envelope,
 *     UUID v7, traceparent) with `laneOf(aggregateId)` and `eventCatalog.streamOf(e.eventType)` — 2/3 of the events go
 *     to <prefix>:orders, 1/3 to <prefix>:inventory, as the saga writes them;
 *  2. per batch size (RELAY_BATCH_SIZE), each run on a freshly inserted backlog (INSERT … unnest in
 *     chunks, then ANALYZE and CHECKPOINT, as autovacuum would have analyzed a table that grew):
 *     - relay: one OutboxRelay (pg Pool of 2, ioredis, LOG_LEVEL=warn) in this process, calling
 *       drainOnce() until a batch comes back empty — the loop `start()` runs, minus LISTEN/poll —
 *       then checks that the streams hold every event once and the outbox is empty;
 *     - relay, Redis stubbed: the same relay with a Redis whose MULTI/EXEC returns at once, i.e.
 *       what Postgres + the relay's JS cost without Redis;
 *     - ioredis MULTI/XADD: the same entries (pre-encoded, the relay's exact field lists) sent as
 *       MULTI/XADD…/EXEC batches of the batch size on one connection: the Redis part alone;
 *     - Postgres DELETE: `DELETE FROM outbox WHERE id = ANY($1::bigint[])` in batches of the batch
 *       size (autocommit): the delete alone;
 *     - redis-benchmark: `XADD <key> * <fields of a typical entry>` pipelined (-P batch, -c 1).
 *  3. the relay at batch 500 with LOG_LEVEL=info (logs to /dev/null): the production default level,
 *     where the relay logs one line per event; and the envelope validation (JSON.parse +
 *     parseEnvelope + encodeEntryFields) alone, as a CPU ceiling.
 * Every drain is bounded by --timeout seconds and prints progress every 10,000 events.
 */
import { spawn } from "node:child_process";
import pg from "pg";
import pino from "pino";
import type { Redis } from "ioredis";
import { createRedis } from "../src/platform/infra/redis.ts";
import { createLogger, type Logger } from "../src/platform/observability/logger.ts";
import { OutboxRelay } from "../src/platform/outbox/relay.ts";
import { eventCatalog, type EventOf } from "../src/contracts/index.ts";
import { laneOf } from "../src/platform/events/lanes.ts";
import { encodeEntryFields } from "../src/platform/events/stream-entry.ts";
import { streamKey } from "../test/support/streams.ts";
import { continueTrace } from "../src/platform/observability/trace.ts";
import { v7 as uuidv7 } from "uuid";
import { createScratch, deleteKeys, log, ms, type Scratch } from "./lib/scratch.ts";
import { machineInfo, printMachine } from "./lib/machine.ts";
import { CpuWindow, settle } from "./lib/cpu.ts";
import { fmt, ratio, table } from "./lib/table.ts";
import { readArgs } from "./lib/args.ts";
import { eventRegistry } from "../src/modules.ts";

interface Options {
  events: number;
  batches: number[];
  infoLog: boolean;
  timeoutSeconds: number;
}

interface Row {
  eventId: string;
  stream: string;
  lane: number;
  aggregateType: string;
  aggregateId: string;
  eventType: string;
  json: string;
  fields: string[];
}

interface Rate {
  label: string;
  batch: number | "";
  perSecond: number;
  seconds: number;
  cpu: Record<string, number>;
  note?: string;
}

export async function relayBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const scratch = await createScratch("relay");
  const pool = new pg.Pool({ connectionString: scratch.databaseUrl, max: 2, application_name: "bench-relay" });
  const redis = createRedis(scratch.redisUrl, "bench-relay");
  try {
    printMachine(await machineInfo(scratch.databaseUrl, scratch.redisUrl));
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1] ?? 0);
    const rows = buildBacklog(o.events);
    const quiet = createLogger({ LOG_LEVEL: "warn", logPretty: false });
    const rates: Rate[] = [];

    for (const batch of o.batches) {
      log(`── batch size ${batch} ──`);
      rates.push(await relayRun("relay", batch, quiet, redis, rows, pool, scratch, redisPid, o));
      rates.push(await relayRun("relay, Redis stubbed", batch, quiet, stubRedis(), rows, pool, scratch, redisPid, o));
      rates.push(await xaddRun(batch, redis, rows, scratch, redisPid));
      rates.push(await deleteRun(batch, rows, pool, scratch));
      rates.push(await redisBenchmarkRun(batch, rows, scratch));
    }
    if (o.infoLog) {
      log("── relay with LOG_LEVEL=info (the default), logs to /dev/null ──");
      const info = pino(
        { level: "info", base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
        pino.destination({ dest: "/dev/null", sync: false }),
      );
      const batch = o.batches[0]!;
      rates.push(await relayRun("relay, LOG_LEVEL=info", batch, info, redis, rows, pool, scratch, redisPid, o));
    }
    rates.push(await validationRun(rows));

    console.log(`\nrelay — ${fmt(o.events)}-event backlog, one relay, events/s (each run on a fresh backlog)\n`);
    console.log(relayTable(rates));
    console.log();
  } finally {
    redis.disconnect();
    await pool.end().catch(() => {});
    await scratch.cleanup();
  }
}

export function relayTable(rates: Rate[]): string {
  const find = (label: string, batch: number | "") =>
    rates.find((r) => r.label === label && r.batch === batch)?.perSecond ?? NaN;
  return table(
    [
      "run",
      "batch",
      "events/s",
      "time",
      "relay ÷ this",
      "cores: node",
      "cores: postgres",
      "cores: redis",
      "cores: machine",
      "note",
    ],
    rates.map((r) => {
      const relay = find("relay", r.batch);
      const isRelay = r.label === "relay";
      return [
        r.label,
        r.batch,
        fmt(r.perSecond),
        `${r.seconds.toFixed(2)} s`,
        isRelay || r.batch === "" ? "" : ratio(relay, r.perSecond),
        fmt(r.cpu.node ?? NaN, 2),
        fmt(r.cpu.postgres ?? NaN, 2),
        fmt(r.cpu.redis ?? NaN, 2),
        fmt(r.cpu.machine ?? NaN, 2),
        r.note ?? "",
      ];
    }),
  );
}

// ── backlog ─────────────────────────────────────────────────────────────────────────────────────

/** Events as the app writes them: OrderCreated, StockReserved, OrderConfirmed per order. */
function buildBacklog(events: number): Row[] {
  const t0 = performance.now();
  const rows: Row[] = [];
  const skus = Array.from({ length: 20 }, (_, i) => `SKU-${String(i + 1).padStart(3, "0")}`);
  for (let i = 0; rows.length < events; i++) {
    const orderId = uuidv7();
    const customerId = `c-${i % 10_000}`;
    const items = [
      { sku: skus[i % 20]!, quantity: 1 + (i % 3), unitPriceCents: 2490 },
      { sku: skus[(i + 7) % 20]!, quantity: 1, unitPriceCents: 1190 },
    ];
    const trace = continueTrace();
    const created = eventCatalog.create(
      "OrderCreated",
      orderId,
      { customerId, currency: "EUR", totalCents: items.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0), items },
      { trace },
    );
    const reserved = eventCatalog.create(
      "StockReserved",
      orderId,
      { orderId, items: items.map(({ sku, quantity }) => ({ sku, quantity })) },
      { trace: continueTrace(trace), causationId: created.eventId },
    );
    const confirmed = eventCatalog.create(
      "OrderConfirmed",
      orderId,
      { customerId },
      { trace: continueTrace(trace), causationId: reserved.eventId },
    );
    for (const e of [created, reserved, confirmed] as EventOf[]) {
      if (rows.length === events) break;
      const json = JSON.stringify(e);
      rows.push({
        eventId: e.eventId,
        stream: eventCatalog.streamOf(e.eventType),
        lane: laneOf(e.aggregateId),
        aggregateType: e.aggregateType,
        aggregateId: e.aggregateId,
        eventType: e.eventType,
        json,
        fields: encodeEntryFields(e, eventCatalog.routingKeys(e), json),
      });
    }
  }
  const bytes = rows.reduce((s, r) => s + r.json.length, 0);
  log(
    `built ${fmt(rows.length)} envelopes with newEvent in ${ms(performance.now() - t0)} (mean envelope ${Math.round(bytes / rows.length)} bytes)`,
  );
  return rows;
}

async function fill(pool: pg.Pool, rows: Row[]): Promise<void> {
  const t0 = performance.now();
  await pool.query("TRUNCATE outbox");
  const chunk = 5_000;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await pool.query(
      `INSERT INTO outbox (event_id, stream, lane, aggregate_type, aggregate_id, event_type, envelope)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::smallint[], $4::text[], $5::text[], $6::text[], $7::jsonb[])`,
      [
        part.map((r) => r.eventId),
        part.map((r) => r.stream),
        part.map((r) => r.lane),
        part.map((r) => r.aggregateType),
        part.map((r) => r.aggregateId),
        part.map((r) => r.eventType),
        part.map((r) => r.json),
      ],
    );
  }
  await pool.query("ANALYZE outbox");
  await pool.query("CHECKPOINT");
  log(`  backlog of ${fmt(rows.length)} rows inserted in ${ms(performance.now() - t0)}`);
  await settle("the next run");
}

// ── runs ────────────────────────────────────────────────────────────────────────────────────────

async function relayRun(
  label: string,
  batch: number,
  logger: Logger,
  redis: Redis,
  rows: Row[],
  pool: pg.Pool,
  scratch: Scratch,
  redisPid: number,
  o: Options,
): Promise<Rate> {
  await fill(pool, rows);
  await deleteKeys(scratch.redisUrl, `${scratch.streamPrefix}:*`);
  const relay = new OutboxRelay({
    pool,
    databaseUrl: scratch.databaseUrl,
    redis,
    events: eventRegistry,
    layout: singleLayout(scratch.streamPrefix),
    log: logger,
    batchSize: batch,
    pollMs: 1000,
  });
  const backends = await poolBackends(pool);
  const cpu = new CpuWindow(() => ({ node: [process.pid], postgres: backends, redis: redisPid ? [redisPid] : [] }));
  const t0 = performance.now();
  const deadline = t0 + o.timeoutSeconds * 1000;
  let moved = 0;
  let nextReport = 10_000;
  let batches = 0;
  for (;;) {
    const n = await relay.drainOnce();
    if (n === 0) break;
    moved += n;
    batches++;
    if (moved >= nextReport) {
      log(`  ${label} b=${batch}: ${fmt(moved)} events, ${fmt(moved / ((performance.now() - t0) / 1000))}/s`);
      nextReport += 10_000;
    }
    if (performance.now() > deadline) {
      log(`  ${label} b=${batch}: stopped at the ${o.timeoutSeconds} s bound`);
      break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const used = cpu.finish();
  const left = Number((await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox")).rows[0]!.n);
  let note = `${batches} batches`;
  if (label.includes("stubbed")) {
    note += left === 0 ? ", outbox empty" : `, ${left} rows LEFT`;
  } else {
    const lengths = await Promise.all(eventCatalog.streams.map((s) => redis.xlen(streamKey(scratch.streamPrefix, s))));
    const total = lengths.reduce((a, b) => a + b, 0);
    const ok = total === rows.length && left === 0;
    note += `, ${ok ? "check ok" : "CHECK FAILED"}: ${eventCatalog.streams.map((s, i) => `${s} ${fmt(lengths[i]!)}`).join(", ")}, outbox ${left}`;
    if (!ok)
      log(`  ${label} b=${batch}: streams hold ${total} entries for ${rows.length} events, ${left} outbox rows left`);
  }
  await deleteKeys(scratch.redisUrl, `${scratch.streamPrefix}:*`);
  log(`  ${label} b=${batch}: ${fmt(moved / seconds)} events/s (${seconds.toFixed(2)} s)`);
  return { label, batch, perSecond: moved / seconds, seconds, cpu: used, note };
}

/** A Redis whose MULTI/EXEC answers at once: the relay's cost without Redis. */
function stubRedis(): Redis {
  let seq = 0;
  const multi = () => {
    let n = 0;
    const m = {
      xadd: () => (n++, m),
      exec: async () => Array.from({ length: n }, () => [null, `${Date.now()}-${seq++}`] as [null, string]),
    };
    return m;
  };
  return { multi } as unknown as Redis;
}

async function xaddRun(batch: number, redis: Redis, rows: Row[], scratch: Scratch, redisPid: number): Promise<Rate> {
  await deleteKeys(scratch.redisUrl, `${scratch.streamPrefix}:*`);
  await settle("ioredis MULTI/XADD");
  const keys = new Map(eventCatalog.streams.map((s) => [s, streamKey(scratch.streamPrefix, s)]));
  const cpu = new CpuWindow(() => ({ node: [process.pid], redis: redisPid ? [redisPid] : [] }));
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    const multi = redis.multi();
    for (const r of rows.slice(i, i + batch))
      multi.xadd(keys.get(r.stream as (typeof eventCatalog.streams)[number])!, "*", ...r.fields);
    const results = await multi.exec();
    if (!results || results.some(([err]) => err)) throw new Error("XADD failed");
    if ((i + batch) % 50_000 < batch)
      log(`  ioredis MULTI/XADD b=${batch}: ${fmt(Math.min(i + batch, rows.length))} entries`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const used = cpu.finish();
  await deleteKeys(scratch.redisUrl, `${scratch.streamPrefix}:*`);
  log(`  ioredis MULTI/XADD b=${batch}: ${fmt(rows.length / seconds)} entries/s`);
  return {
    label: "ioredis MULTI/XADD",
    batch,
    perSecond: rows.length / seconds,
    seconds,
    cpu: used,
    note: "pre-encoded entries, one connection",
  };
}

async function deleteRun(batch: number, rows: Row[], pool: pg.Pool, _scratch: Scratch): Promise<Rate> {
  await fill(pool, rows);
  const ids = (await pool.query<{ id: string }>("SELECT id::text AS id FROM outbox ORDER BY id")).rows.map((r) => r.id);
  const backends = await poolBackends(pool);
  const cpu = new CpuWindow(() => ({ node: [process.pid], postgres: backends }));
  const t0 = performance.now();
  let deleted = 0;
  for (let i = 0; i < ids.length; i += batch) {
    deleted +=
      (await pool.query("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [ids.slice(i, i + batch)])).rowCount ?? 0;
    if ((i + batch) % 50_000 < batch) log(`  Postgres DELETE b=${batch}: ${fmt(deleted)} rows`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const used = cpu.finish();
  if (deleted !== rows.length) throw new Error(`deleted ${deleted} of ${rows.length}`);
  log(`  Postgres DELETE b=${batch}: ${fmt(deleted / seconds)} rows/s`);
  return {
    label: "Postgres DELETE",
    batch,
    perSecond: deleted / seconds,
    seconds,
    cpu: used,
    note: "DELETE … WHERE id = ANY($1), autocommit",
  };
}

async function redisBenchmarkRun(batch: number, rows: Row[], scratch: Scratch): Promise<Rate> {
  // A typical entry: the OrderCreated one (the largest of the three kinds).
  const sample = rows.find((r) => r.eventType === "OrderCreated")!;
  const key = `${scratch.streamPrefix}:redis-benchmark`;
  const url = new URL(scratch.redisUrl);
  const args = [
    "-h",
    url.hostname,
    "-p",
    url.port || "6379",
    "-n",
    String(rows.length),
    "-P",
    String(batch),
    "-c",
    "1",
    "--csv",
    "XADD",
    key,
    "*",
    ...sample.fields,
  ];
  await settle("redis-benchmark");
  const t0 = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("redis-benchmark", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`redis-benchmark exited with ${code}: ${stderr}`));
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  await deleteKeys(scratch.redisUrl, key);
  // --csv: "test","rps","avg_latency_ms",…,"max_latency_ms"; the test name holds the JSON, so read from the end.
  const line = out.trim().split("\n").at(-1)!;
  const rps = Number(/"([\d.]+)"(?:,"[\d.]+"){6}$/.exec(line)?.[1]);
  log(`  redis-benchmark XADD -P ${batch}: ${fmt(rps)} requests/s`);
  return {
    label: "redis-benchmark XADD",
    batch,
    perSecond: rps,
    seconds,
    cpu: {},
    note: `-P ${batch} -c 1, ${sample.json.length}-byte envelope`,
  };
}

/** JSON.parse + parseEnvelope (zod) + encodeEntryFields per row: the relay's per-event JS work. */
async function validationRun(rows: Row[]): Promise<Rate> {
  await settle("envelope validation");
  const cpu = new CpuWindow(() => ({ node: [process.pid] }));
  const t0 = performance.now();
  let fields = 0;
  for (const r of rows)
    fields += encodeEntryFields(
      eventCatalog.parse(JSON.parse(r.json)),
      eventCatalog.routingKeys(eventCatalog.parse(JSON.parse(r.json))),
      r.json,
    ).length;
  const seconds = (performance.now() - t0) / 1000;
  if (fields !== rows.length * 8) throw new Error("unexpected field count");
  log(`  envelope validation: ${fmt(rows.length / seconds)} events/s`);
  return {
    label: "envelope validation only",
    batch: "",
    perSecond: rows.length / seconds,
    seconds,
    cpu: cpu.finish(),
    note: "JSON.parse + parseEnvelope + encodeEntryFields, one core",
  };
}

async function poolBackends(pool: pg.Pool): Promise<number[]> {
  // Open both pool connections and learn their backend pids.
  const clients = await Promise.all([pool.connect(), pool.connect()]);
  try {
    return await Promise.all(
      clients.map(async (c) => (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid),
    );
  } finally {
    clients.forEach((c) => c.release());
  }
}

function parseOptions(argv: string[]): Options {
  const o: Options = { events: 100_000, batches: [500, 1000, 2000], infoLog: true, timeoutSeconds: 300 };
  readArgs(argv, (a, arg) => {
    if (a === "--events") o.events = arg.number(1_000, 1_000_000);
    else if (a === "--batch") o.batches = arg.list(1, 10_000);
    else if (a === "--no-info-log") o.infoLog = false;
    else if (a === "--timeout") o.timeoutSeconds = arg.number(10, 3_600);
    else return false;
    return true;
  });
  return o;
}
