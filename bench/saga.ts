/**
 * saga — createOrder → OrderConfirmed seen by a subscriber, on an idle system, against the same
 * chain of hops done with raw pg + ioredis.
 *
 *   npm run bench -- saga [--orders 200] [--gap-ms 20] [--timeout 120]
 *
 * Ours, twice: the app as one child process with ROLES=api,relay,inventory,orders (`tsx
 * src/main.ts`, LOG_LEVEL=warn), then one process per role as compose/Kubernetes run it. This process (the client) holds one graphql-ws subscription
 * `orderEvents(customerId: "saga", types: [OrderConfirmed])` and sends createOrder over keep-alive
 * HTTP, one order at a time with --gap-ms between them (idle system: nothing else in flight).
 * Latency = from sending the mutation to receiving the OrderConfirmed for that order id. That path is
 * HTTP → createOrder tx (+ NOTIFY) → relay → XADD orders → inventory consumer (tx) → relay → XADD
 * inventory → order saga (tx) → relay → XADD orders → live hub XREAD → graphql-ws → client.
 *
 * Raw baseline (same run, same database and Redis): the same hops with no framework, in this
 * process — three transactions that each insert an outbox row and NOTIFY, a LISTENing "relay" that
 * deletes the row in its own transaction and XADDs, two XREAD BLOCK "workers" whose handler is the
 * next transaction, and an XREAD BLOCK "hub" that completes the iteration: 3 commits, 3 relay
 * transactions, 3 XADDs, 4 blocking reads, no HTTP/WebSocket/GraphQL/Prisma/validation.
 * Every iteration is bounded (5 s) and the whole run by --timeout.
 */
import http from "node:http";
import pg from "pg";
import WebSocket from "ws";
import { createClient } from "graphql-ws";
import type { Redis } from "ioredis";
import { seed } from "../prisma/seed.ts";
import { createRedis } from "../src/platform/infra/redis.ts";
import { createScratch, log, type Scratch } from "./lib/scratch.ts";
import { machineInfo, printMachine } from "./lib/machine.ts";
import { CpuWindow, settle } from "./lib/cpu.ts";
import { fmt, ratio, table } from "./lib/table.ts";
import { freePort, sleep, startApp } from "./lib/app.ts";
import { adminToken } from "./lib/auth.ts";

interface Options {
  orders: number;
  gapMs: number;
  timeoutSeconds: number;
}

interface SagaResult {
  label: string;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mutationP50: number;
  timeouts: number;
  cpu: Record<string, number>;
}

const CUSTOMER = "saga";
const MUTATION = `mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id status } } }`;
const SUBSCRIPTION = `subscription($c: ID) { orderEvents(customerId: $c, types: [OrderConfirmed]) { __typename orderId cursor } }`;

export async function sagaBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const scratch = await createScratch("saga");
  try {
    printMachine(await machineInfo(scratch.databaseUrl, scratch.redisUrl));
    await seed(scratch.databaseUrl);
    const results = [await oursRun(o, scratch, false), await oursRun(o, scratch, true), await rawRun(o, scratch)];
    console.log(
      `\nsaga — createOrder → OrderConfirmed at the subscriber, one order at a time (${o.gapMs} ms apart), idle system\n`,
    );
    const raw = results[2]!;
    console.log(
      table(
        [
          "run",
          "orders",
          "p50 ms",
          "p90 ms",
          "p99 ms",
          "max ms",
          "p50 ÷ raw",
          "p99 ÷ raw",
          "createOrder p50 ms",
          "timeouts",
          "cores: app / this",
          "cores: machine",
        ],
        results.map((r) => [
          r.label,
          r.n,
          fmt(r.p50, 1),
          fmt(r.p90, 1),
          fmt(r.p99, 1),
          fmt(r.max, 1),
          r === raw ? "" : ratio(r.p50, raw.p50),
          r === raw ? "" : ratio(r.p99, raw.p99),
          fmt(r.mutationP50, 1),
          r.timeouts,
          `${fmt(r.cpu.app ?? NaN, 2)} / ${fmt(r.cpu.bench ?? NaN, 2)}`,
          fmt(r.cpu.machine ?? NaN, 2),
        ]),
      ),
    );
    console.log();
  } finally {
    await scratch.cleanup();
  }
}

// ── ours ────────────────────────────────────────────────────────────────────────────────────────

/** Workers serve /ready on their health port: start them on a known one. */
async function startWorker(scratch: Scratch, role: string, pool: number) {
  const port = await freePort();
  return startApp(scratch, role, pool, [], { HEALTH_PORT: String(port) }, port);
}

/**
 * `split`: one process per role, as compose and Kubernetes run them (the hops of one order then
 * run on both cores); otherwise all roles in one process, as `npm start` runs them.
 */
async function oursRun(o: Options, scratch: Scratch, split: boolean): Promise<SagaResult> {
  const apps = split
    ? await Promise.all([
        startApp(scratch, "api", 4),
        startWorker(scratch, "relay", 2),
        startWorker(scratch, "inventory", 3),
        startWorker(scratch, "orders", 3),
      ])
    : [await startApp(scratch, "api,relay,inventory,orders", 10)];
  const app = apps[0]!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const confirmedAt = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const authorization = `Bearer ${await adminToken()}`;
  const client = createClient({
    url: app.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    lazy: false,
    keepAlive: 0,
    connectionParams: { authorization },
  });
  let live: () => void;
  const subscribed = new Promise<void>((r) => (live = r));
  const dispose = client.subscribe<{ orderEvents: { orderId: string } }>(
    { query: SUBSCRIPTION, variables: { c: CUSTOMER } },
    {
      next: (r) => {
        const id = r.data?.orderEvents.orderId;
        if (!id) return log(`  subscription error: ${JSON.stringify(r.errors).slice(0, 300)}`);
        confirmedAt.set(id, performance.now());
        waiters.get(id)?.();
        live();
      },
      error: (err) => log(`  subscription failed: ${String(err)}`),
      complete: () => {},
    },
  );
  try {
    // Warm-up, which also proves the subscription is live: orders until one confirmation arrives.
    const warmDeadline = Date.now() + 30_000;
    let warm = 0;
    for (;;) {
      await createOrder(app.url, agent, authorization);
      warm++;
      const got = await Promise.race([subscribed.then(() => true), sleep(1_000).then(() => false)]);
      if (got) break;
      if (Date.now() > warmDeadline) throw new Error("no OrderConfirmed within 30 s of warm-up orders");
    }
    for (let i = 0; i < 20; i++) await createOrder(app.url, agent, authorization); // JIT warm-up, not measured
    await sleep(2_000);
    log(`saga ours: subscription live after ${warm} warm-up order(s); measuring ${o.orders} orders`);
    await settle("saga (ours)");
    const cpu = new CpuWindow(() => ({ app: apps.map((a) => a.child.pid!), bench: [process.pid] }));
    const lat: number[] = [];
    const mut: number[] = [];
    let timeouts = 0;
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    for (let i = 0; i < o.orders && Date.now() < deadline; i++) {
      const t0 = performance.now();
      const id = await createOrder(app.url, agent, authorization);
      mut.push(performance.now() - t0);
      if (!confirmedAt.has(id)) {
        const ok = await Promise.race([
          new Promise<boolean>((r) => waiters.set(id, () => r(true))),
          sleep(5_000).then(() => false),
        ]);
        waiters.delete(id);
        if (!ok) {
          timeouts++;
          continue;
        }
      }
      lat.push(confirmedAt.get(id)! - t0);
      if ((i + 1) % 50 === 0) log(`  saga ours: ${i + 1} orders, p50 so far ${fmt(pct(lat, 50), 1)} ms`);
      await sleep(o.gapMs);
    }
    return summary(
      split ? "ours, one process per role" : "ours, one process (all roles)",
      lat,
      mut,
      timeouts,
      cpu.finish(),
    );
  } finally {
    dispose();
    await client.dispose();
    agent.destroy();
    await Promise.all(apps.map((a) => a.stop()));
  }
}

function createOrder(url: string, agent: http.Agent, authorization: string): Promise<string> {
  const payload = JSON.stringify({
    query: MUTATION,
    variables: { input: { customerId: CUSTOMER, items: [{ sku: "SKU-020", quantity: 1 }] } },
  });
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization, "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as {
            data?: { createOrder?: { order: { id: string } } };
            errors?: unknown;
          };
          const id = body.data?.createOrder?.order.id;
          if (id) resolve(id);
          else reject(new Error(`createOrder failed: ${JSON.stringify(body.errors).slice(0, 300)}`));
        });
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error("createOrder timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}

// ── raw baseline ────────────────────────────────────────────────────────────────────────────────

async function rawRun(o: Options, scratch: Scratch): Promise<SagaResult> {
  const conn = () => new pg.Client({ connectionString: scratch.databaseUrl, application_name: "bench-saga-raw" });
  const [clientDb, relayListen, relayDb, workerDb] = [conn(), conn(), conn(), conn()];
  await Promise.all([clientDb, relayListen, relayDb, workerDb].map((c) => c.connect()));
  const redises: Redis[] = [];
  const redis = (name: string) => {
    const r = createRedis(scratch.redisUrl, name);
    redises.push(r);
    return r;
  };
  const relayRedis = redis("raw-relay");
  const key = (stage: number) => `${scratch.streamPrefix}:raw:${stage}`;
  let stopping = false;
  const done = new Map<string, () => void>();
  try {
    await clientDb.query(`CREATE TABLE raw_orders (id text PRIMARY KEY, status text NOT NULL);
      CREATE TABLE raw_outbox (id bigserial PRIMARY KEY, stage int NOT NULL, ref text NOT NULL);
      CREATE TABLE raw_stock (sku text PRIMARY KEY, reserved int NOT NULL); INSERT INTO raw_stock VALUES ('SKU-020', 0);`);

    // "Relay": woken by NOTIFY, moves every waiting row in one transaction (claim, XADD, delete).
    let draining = false;
    let again = false;
    const drain = async () => {
      if (draining) return void (again = true);
      draining = true;
      do {
        again = false;
        await relayDb.query("BEGIN");
        const { rows } = await relayDb.query<{ id: string; stage: number; ref: string }>(
          "SELECT id, stage, ref FROM raw_outbox ORDER BY id FOR UPDATE SKIP LOCKED",
        );
        if (rows.length) {
          const multi = relayRedis.multi();
          for (const r of rows) multi.xadd(key(r.stage), "*", "ref", r.ref);
          await multi.exec();
          await relayDb.query("DELETE FROM raw_outbox WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
        }
        await relayDb.query("COMMIT");
      } while (again);
      draining = false;
    };
    relayListen.on("notification", () => void drain().catch((err) => log(`raw relay failed: ${err}`)));
    await relayListen.query("LISTEN raw_outbox");

    // Stage 1 "inventory" and stage 2 "orders" workers, stage 3 "hub": blocking reads.
    const reader = async (stage: number, handle: (ref: string) => Promise<void>) => {
      const r = redis(`raw-reader-${stage}`);
      let last = "$";
      while (!stopping) {
        const reply = (await r.xread("BLOCK", 1000, "STREAMS", key(stage), last).catch(() => null)) as
          [string, [string, string[]][]][] | null;
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          last = id;
          await handle(fields[1]!);
        }
      }
    };
    const tx = async (sql: string, ref: string, stage: number) => {
      await workerDb.query("BEGIN");
      await workerDb.query(sql, [ref]);
      await workerDb.query("INSERT INTO raw_outbox (stage, ref) VALUES ($1, $2)", [stage, ref]);
      await workerDb.query("SELECT pg_notify('raw_outbox', '')");
      await workerDb.query("COMMIT");
    };
    const readers = [
      reader(1, (ref) =>
        tx("UPDATE raw_stock SET reserved = reserved + 1 WHERE sku = 'SKU-020' AND $1::text IS NOT NULL", ref, 2),
      ),
      reader(2, (ref) => tx("UPDATE raw_orders SET status = 'CONFIRMED' WHERE id = $1", ref, 3)),
      reader(3, async (ref) => done.get(ref)?.()),
    ];
    await sleep(500); // readers pinned at "$"

    const once = async (i: number): Promise<number | undefined> => {
      const ref = `raw-${i}`;
      const arrived = new Promise<boolean>((r) => done.set(ref, () => r(true)));
      const t0 = performance.now();
      await clientDb.query("BEGIN");
      await clientDb.query("INSERT INTO raw_orders (id, status) VALUES ($1, 'PENDING')", [ref]);
      await clientDb.query("INSERT INTO raw_outbox (stage, ref) VALUES (1, $1)", [ref]);
      await clientDb.query("SELECT pg_notify('raw_outbox', '')");
      await clientDb.query("COMMIT");
      const ok = await Promise.race([arrived, sleep(5_000).then(() => false)]);
      done.delete(ref);
      return ok ? performance.now() - t0 : undefined;
    };
    for (let i = 0; i < 20; i++) await once(-1 - i); // warm-up
    await settle("saga (raw)");
    const cpu = new CpuWindow(() => ({ bench: [process.pid] }));
    const lat: number[] = [];
    let timeouts = 0;
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    for (let i = 0; i < o.orders && Date.now() < deadline; i++) {
      const l = await once(i);
      if (l === undefined) timeouts++;
      else lat.push(l);
      if ((i + 1) % 50 === 0) log(`  saga raw: ${i + 1} iterations, p50 so far ${fmt(pct(lat, 50), 1)} ms`);
      await sleep(o.gapMs);
    }
    stopping = true;
    await Promise.race([Promise.all(readers), sleep(3_000)]);
    return summary("raw pg + ioredis, same hops", lat, [], timeouts, cpu.finish());
  } finally {
    stopping = true;
    for (const r of redises) r.disconnect();
    await Promise.all([clientDb, relayListen, relayDb, workerDb].map((c) => c.end().catch(() => {})));
  }
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(
  label: string,
  lat: number[],
  mut: number[],
  timeouts: number,
  cpu: Record<string, number>,
): SagaResult {
  const r: SagaResult = {
    label,
    n: lat.length,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    max: pct(lat, 100),
    mutationP50: pct(mut, 50),
    timeouts,
    cpu,
  };
  log(`saga ${label}: p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms over ${r.n} (timeouts ${timeouts})`);
  return r;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { orders: 200, gapMs: 20, timeoutSeconds: 120 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = Number(argv[++i]);
    if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
    if (a === "--orders") o.orders = Math.min(900, Math.max(1, v));
    else if (a === "--gap-ms") o.gapMs = Math.min(10_000, Math.max(0, v));
    else if (a === "--timeout") o.timeoutSeconds = Math.min(3_600, Math.max(10, v));
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}
