/**
 * resume — every subscriber resumes at once after the api process is SIGKILLed and restarted
 * (issue 15), against the same restart on the Pub/Sub peer (bench/peer-server.ts).
 *
 *   npm run bench -- resume [--subscribers 1000,5000,10000] [--rate 100] [--customers 100]
 *                           [--steady-seconds 10] [--client-procs 4] [--retry-ms 300] [--no-peer] [--profile]
 *                           [--orders-elsewhere] [--catch-up-s 120]
 *
 * Processes (loopback): the api under test (ROLES=api, one process, port A); a backend with
 * ROLES=api,relay,inventory,orders (port B); bench/resume-orders.ts creating real orders at --rate/s
 * (createOrder, customer c-<i mod --customers>) on A, and on B whenever A refuses or drops the
 * connection — a load balancer's failover, so orders keep flowing while A is down; and
 * --client-procs bench/fanout-client.ts processes holding the subscribers (subscriber i watches
 * `orderEvents(customerId: "c-<i mod customers>")` over graphql-ws, resuming with `after` through
 * src/client/resuming-subscription.ts; graphql-ws reconnects after --retry-ms jittered 0.5–1.5×).
 *
 * Per size N: start A, connect N subscribers (one per socket up to 19,000: the open-file limit
 * here is 20,000 per process), wait until every one has received an event (all live), note the
 * stream's last entry (the watermark), run --steady-seconds at --rate, then SIGKILL A and start it
 * again on the same port. "Listening" = the first TCP connect the new process accepts (polled every
 * 10 ms from its spawn). At that moment the stream's last entry is noted: a subscriber is caught up
 * when it has received the last event of its customer up to that entry. Orders keep flowing until
 * every subscriber is caught up (bounded by --catch-up-s, 120 s) plus 3 s, then stop; once the outbox is empty and
 * the stream still, the ground truth is read: every order in Postgres must have its OrderCreated in
 * the stream, and every subscriber must have every order event of its customer after the watermark
 * exactly once (lost, duplicates). Reported: listening time (spawn → listening), catch-up max, p50
 * and p99 over subscribers (from listening), socket reconnect max, events replayed, the restarted
 * server's CPU and RSS until caught up, the client processes' CPU, createOrder p50 on A in its first
 * second after listening vs the steady window before the kill, and the load average.
 *
 * The peer run does the same with bench/peer-server.ts in A's place: orders go to B, and a bridge in
 * this process PUBLISHes each orders-stream event to the peer's per-customer channel, as a Yoga app
 * would publish after commit. Its clients resubscribe without a cursor: what it loses is reported.
 */
import type { Redis } from "ioredis";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRedis } from "../src/platform/infra/redis.ts";
import { decodeEntry } from "../src/platform/events/stream-entry.ts";
import { ORDER_EVENT_TYPES } from "../src/contracts/orders.ts";
import { streamKey } from "../test/support/streams.ts";
import { seed, CATALOG } from "../prisma/seed.ts";
import { createScratch, log, type Scratch } from "./lib/scratch.ts";
import { machineInfo, printMachine } from "./lib/machine.ts";
import { backendPids, CpuWindow, processCpuMs, settle } from "./lib/cpu.ts";
import { fmt, table } from "./lib/table.ts";
import { forkScript, rssBytes, sleep, startApp, type AppChild } from "./lib/app.ts";
import { adminToken } from "./lib/auth.ts";
import { readArgs } from "./lib/args.ts";
import { printProfileSummary, summarizeProfile } from "./cpuprofile-summary.ts";
import { connectAll, sendAll, startClients, startServer, stopClients, sum, type ClientProc } from "./fanout.ts";
import type { ClientCommand, ServerKind, VerifyArgs, VerifyReport } from "./fanout-client.ts";
import type { Mutation, OrdersArgs, OrdersCommand, OrdersMessage } from "./resume-orders.ts";
import pg from "pg";

interface Options {
  subscribers: number[];
  rate: number;
  customers: number;
  steadySeconds: number;
  clientProcs: number;
  retryMs: number;
  /** How long the subscribers get to come back and catch up before the run goes on without them. */
  catchUpS: number;
  peer: boolean;
  profile: boolean;
  ordersElsewhere: boolean;
}

const MAX_SOCKETS = 19_000;
const ORDER_TYPES = new Set<string>(ORDER_EVENT_TYPES);

interface ResumeResult {
  server: ServerKind;
  subscribers: number;
  sockets: number;
  spawnToListenMs: number;
  spawnToReadyMs: number;
  killToListenMs: number;
  caughtUp: number;
  catchUpMax: number;
  catchUpP50: number;
  catchUpP99: number;
  reconnectMax: number;
  replayed: number;
  expected: number;
  lost: number;
  duplicates: number;
  ordersInDb: number;
  ordersWithoutEvent: number;
  serverCores: number;
  serverCpuS: number;
  rssMiB: number;
  clientCores: number;
  mutationSteadyP50: number;
  mutationFirstP50: number;
  mutationFirstN: number;
  failovers: number;
  load: string;
}

export async function resumeBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const scratch = await createScratch("resume");
  const redis = createRedis(scratch.redisUrl, "bench-resume");
  const db = new pg.Client({ connectionString: scratch.databaseUrl });
  let backend: AppChild | undefined;
  try {
    printMachine(await machineInfo(scratch.databaseUrl, scratch.redisUrl));
    log(`open-file limit of this process (inherited by the server and clients): ${openFileLimit()}`);
    await seed(scratch.databaseUrl);
    await db.connect();
    // Enough stock that orders are confirmed rather than rejected (both are order events; this keeps the mix steady).
    await db.query("UPDATE stock_levels SET on_hand = 1000000000");
    backend = await startApp(scratch, "api,relay,inventory,orders", 8);
    const results: ResumeResult[] = [];
    for (const n of o.subscribers) {
      results.push(await resumeRun("ours", n, o, scratch, redis, db, backend));
      if (o.peer) results.push(await resumeRun("peer", n, o, scratch, redis, db, backend));
    }
    console.log(
      `\nresume — api SIGKILLed and restarted, every subscriber resumes at once; ${o.rate} orders/s over ${o.customers} customers, ${o.clientProcs} client processes\n`,
    );
    console.log(resumeTable(results));
    console.log();
  } finally {
    await backend?.stop();
    await db.end().catch(() => {});
    redis.disconnect();
    await scratch.cleanup();
  }
}

function resumeTable(results: ResumeResult[]): string {
  const ms = (n: number) => (Number.isFinite(n) ? fmt(n) : "–");
  return table(
    [
      "server",
      "subscribers",
      "listening ms (spawn→listen · →ready · kill→listen)",
      "caught up",
      "catch-up ms max / p50 / p99",
      "reconnect ms max",
      "events replayed",
      "deliveries expected",
      "lost",
      "dup",
      "orders (DB) / without event",
      "server cores · CPU s · RSS MiB",
      "cores: clients",
      "createOrder p50 ms steady / 1st s (n)",
      "load avg (1/5/15)",
    ],
    results.map((r) => [
      r.server,
      fmt(r.subscribers),
      r.server === "ours"
        ? `${ms(r.spawnToListenMs)} · ${ms(r.spawnToReadyMs)} · ${ms(r.killToListenMs)}`
        : `${ms(r.spawnToListenMs)} · – · ${ms(r.killToListenMs)}`,
      r.server === "ours" ? `${fmt(r.caughtUp)} / ${fmt(r.subscribers)}` : "(no resume)",
      r.server === "ours" ? `${ms(r.catchUpMax)} / ${ms(r.catchUpP50)} / ${ms(r.catchUpP99)}` : "",
      ms(r.reconnectMax),
      r.server === "ours" ? fmt(r.replayed) : "",
      fmt(r.expected),
      fmt(r.lost),
      fmt(r.duplicates),
      `${fmt(r.ordersInDb)} / ${fmt(r.ordersWithoutEvent)}`,
      `${fmt(r.serverCores, 2)} · ${fmt(r.serverCpuS, 1)} · ${fmt(r.rssMiB)}`,
      fmt(r.clientCores, 2),
      r.server === "ours" ? `${fmt(r.mutationSteadyP50, 1)} / ${fmt(r.mutationFirstP50, 1)} (${r.mutationFirstN})` : "",
      r.load,
    ]),
  );
}

// ── one run ─────────────────────────────────────────────────────────────────────────────────────

async function resumeRun(
  kind: ServerKind,
  subscribers: number,
  o: Options,
  scratch: Scratch,
  redis: Redis,
  db: pg.Client,
  backend: AppChild,
): Promise<ResumeResult> {
  const label = `${kind} resume n=${subscribers}`;
  log(`── ${label} ──`);
  const key = streamKey(scratch.streamPrefix, "orders");
  const perSocket = subscribers > MAX_SOCKETS ? Math.ceil(subscribers / MAX_SOCKETS) : 1;
  const sockets = Math.ceil(subscribers / perSocket);
  await settle(label);
  const loadBefore = loadAverage();
  const serverOptions = { serverNodeArgs: [] as string[], env: {} as Record<string, string> };
  let server = await startServer(kind, scratch, serverOptions);
  const port = server.port;
  const bridge = kind === "peer" ? startBridge(scratch, key) : undefined;
  const procs = startClients(
    kind,
    server.url,
    subscribers,
    o.customers,
    perSocket,
    false,
    1800,
    `Bearer ${await adminToken()}`,
    { trackIds: true, retryMs: o.retryMs, processes: o.clientProcs },
  );
  let orders: OrdersProc | undefined;
  let profileDir: string | undefined;
  let profileWindow: { fromUs: number; toUs: number } | undefined;
  let starting: Promise<AppChild> | undefined;
  try {
    // Connect before the orders flow: on a busy machine 100 mutations/s leave the handshakes little CPU.
    await connectAll(label, procs, sockets, server, 900_000);
    orders = startOrders({
      // --orders-elsewhere: the api under test only holds subscribers (the peer's setup), to tell the
      // cost of resuming from the cost of serving createOrder on a process that just started.
      primary: kind === "ours" && !o.ordersElsewhere ? server.url : undefined,
      fallback: backend.url,
      rate: o.rate,
      customers: o.customers,
      skus: CATALOG.map((p) => p.sku),
      authorization: `Bearer ${await adminToken()}`,
      maxSeconds: 1800,
    });
    await waitFor(
      label,
      300_000,
      () => sum(procs, (p) => p.primed) >= subscribers,
      () => `${fmt(sum(procs, (p) => p.primed))} / ${fmt(subscribers)} subscribers live`,
    );
    const watermark = await lastId(redis, key);
    log(`  ${label}: all live; watermark ${watermark}; ${o.steadySeconds} s steady`);
    await sleep(o.steadySeconds * 1000);

    // ── kill and restart ──
    const killAt = Date.now();
    log(`  ${label}: SIGKILL the server (pid ${server.child.pid}) and start it again on port ${port}`);
    await server.kill("SIGKILL");
    if (o.profile && kind === "ours") profileDir = mkdtempSync(path.join(os.tmpdir(), "bench-cpuprof-"));
    const spawnAt = Date.now();
    const listening = waitListening(port, Number(process.env.BENCH_READY_TIMEOUT_S ?? 60) * 1000);
    starting = startServer(
      kind,
      scratch,
      profileDir ? { ...serverOptions, serverNodeArgs: ["--cpu-prof", "--cpu-prof-dir", profileDir] } : serverOptions,
      port,
    );
    starting.catch(() => {}); // awaited below; a failed start must not crash the bench before its cleanup
    listening.catch(() => {});
    const listenAt = await listening;
    const atListen = await lastId(redis, key);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    // The new process's pid is known once startServer resolves; its CPU from spawn is all startup + catch-up.
    let pid = 0;
    let rssMax = 0;
    const sampler = setInterval(() => pid && (rssMax = Math.max(rssMax, rssBytes(pid))), 250);
    const clientCpu = new CpuWindow(() => ({ clients: procs.map((p) => p.child.pid!) }));
    // Who else uses the 2 cores while the subscribers come back: the backend (api, relay, workers),
    // Postgres (every backend of the scratch database; the restarted api's are new, counted whole),
    // the order flow.
    let pgPids = await backendPids(db, scratch.database);
    const othersCpu = new CpuWindow(() => ({
      backend: [backend.child.pid!],
      postgres: pgPids,
      orderFlow: orders ? [orders.child.pid!] : [],
    }));
    server = await starting;
    pid = server.child.pid!;
    const readyAt = Date.now();
    const apiCpuAtReady = processCpuMs(pid);
    log(
      `  ${label}: listening ${listenAt - spawnAt} ms after spawn (${listenAt - killAt} ms after the kill), ready after ${readyAt - spawnAt} ms`,
    );

    // ── catch-up ──
    const truthAtListen = await groundTruth(redis, key, watermark, atListen, o.customers);
    if (kind === "ours") {
      sendAll(procs, { cmd: "targets", targets: truthAtListen.targets });
      await waitFor(
        label,
        o.catchUpS * 1000,
        () => sum(procs, (p) => p.caughtUp) >= subscribers,
        () =>
          `${fmt(sum(procs, (p) => p.caughtUp))} / ${fmt(subscribers)} caught up, ${fmt(sum(procs, (p) => p.connected))} connects`,
        true,
      );
    } else {
      // The peer has nothing to catch up: wait until every socket has connected again.
      await waitFor(
        label,
        o.catchUpS * 1000,
        () => sum(procs, (p) => p.connected) >= 2 * sockets,
        () => `${fmt(sum(procs, (p) => p.connected))} connects for ${fmt(sockets)} sockets`,
        true,
      );
    }
    const doneAt = Date.now();
    profileWindow = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    clearInterval(sampler);
    rssMax = Math.max(rssMax, rssBytes(pid));
    const serverCpuS = processCpuMs(pid) / 1000;
    const serverCores = processCpuMs(pid) / Math.max(1, doneAt - spawnAt);
    const clientCores = clientCpu.finish().clients ?? NaN;
    pgPids = [...new Set([...pgPids, ...(await backendPids(db, scratch.database))])];
    const others = othersCpu.finish();
    log(`  ${label}: caught up ${doneAt - listenAt} ms after listening; orders go on 3 s more`);
    log(
      `  ${label}: cores from listening to caught up: restarted api ${fmt((processCpuMs(pid) - apiCpuAtReady) / Math.max(1, doneAt - readyAt), 2)} (from ready), backend ${fmt(others.backend ?? NaN, 2)}, postgres ${fmt(others.postgres ?? NaN, 2)}, order flow ${fmt(others.orderFlow ?? NaN, 2)}, clients ${fmt(clientCores, 2)}, machine ${fmt(others.machine, 2)} of 2`,
    );
    await sleep(3_000);

    // ── drain and check against the ground truth ──
    const { mutations, failovers } = await stopOrders(orders);
    await drained(label, redis, key, db);
    // Soft: late subscribers may still be replaying; what has not arrived by then counts as lost.
    await waitFor(
      label,
      90_000,
      stillFor(2_000, () => sum(procs, (p) => p.received)),
      () => "deliveries settling",
      true,
    );
    bridge?.stop();
    const truth = await groundTruth(redis, key, watermark, atListen, o.customers);
    const reports = await verify(procs, {
      expected: truth.expected,
      lastAtListen: kind === "ours" ? truth.lastAtListen : {},
      listenAt,
    });
    const catchUp = reports.flatMap((r) => r.caughtUpMs).map((v) => (v == null ? Infinity : v));
    const sorted = [...catchUp].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
    const { inDb, withoutEvent } = await ordersAgainstStream(redis, key, db);
    const onA = (from: number, to: number) =>
      median(mutations.filter((m) => m[1] === 0 && m[3] && m[0] >= from && m[0] < to).map((m) => m[2]));
    const first = mutations.filter((m) => m[1] === 0 && m[3] && m[0] >= listenAt && m[0] < listenAt + 1000);
    const result: ResumeResult = {
      server: kind,
      subscribers,
      sockets,
      spawnToListenMs: listenAt - spawnAt,
      spawnToReadyMs: readyAt - spawnAt,
      killToListenMs: listenAt - killAt,
      caughtUp: catchUp.filter(Number.isFinite).length,
      catchUpMax: pct(100),
      catchUpP50: pct(50),
      catchUpP99: pct(99),
      reconnectMax: Math.max(...reports.flatMap((r) => r.reconnectMs)),
      replayed: reports.reduce((s, r) => s + r.replayed, 0),
      expected: reports.reduce((s, r) => s + r.expected, 0),
      lost: reports.reduce((s, r) => s + r.lost, 0),
      duplicates: reports.reduce((s, r) => s + r.duplicates, 0),
      ordersInDb: inDb,
      ordersWithoutEvent: withoutEvent,
      serverCores,
      serverCpuS,
      rssMiB: rssMax / 2 ** 20,
      clientCores,
      mutationSteadyP50: onA(killAt - o.steadySeconds * 1000, killAt),
      mutationFirstP50: median(first.map((m) => m[2])),
      mutationFirstN: first.length,
      failovers,
      load: `${loadBefore} → ${loadAverage()}`,
    };
    log(
      `  ${label}: listening ${result.spawnToListenMs} ms after spawn; caught up ${result.caughtUp}/${subscribers}, ` +
        `max ${fmt(result.catchUpMax)} p50 ${fmt(result.catchUpP50)} p99 ${fmt(result.catchUpP99)} ms; replayed ${fmt(result.replayed)}; ` +
        `lost ${result.lost} of ${fmt(result.expected)}, duplicates ${result.duplicates}; orders ${inDb}, without event ${withoutEvent}; ` +
        `server ${fmt(serverCores, 2)} cores, RSS ${fmt(result.rssMiB)} MiB; clients ${fmt(clientCores, 2)} cores; ` +
        `createOrder p50 ${fmt(result.mutationSteadyP50, 1)} → ${fmt(result.mutationFirstP50, 1)} ms (${first.length} in the 1st s); ${failovers} failovers`,
    );
    return result;
  } finally {
    bridge?.stop();
    await stopClients(procs);
    if (orders && orders.child.exitCode === null) orders.child.kill("SIGTERM");
    await server.stop();
    // A restart still starting when the run failed: stop it too (it may come up after the failure).
    if (starting)
      await starting.then(
        (s) => (s !== server ? s.stop() : undefined),
        () => {},
      );
    if (profileDir && profileWindow) {
      const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
      if (file) {
        console.log(
          `\n${label}: restarted api under --cpu-prof, listening → caught up: ${path.join(profileDir, file)}\n`,
        );
        printProfileSummary(
          summarizeProfile(JSON.parse(readFileSync(path.join(profileDir, file), "utf8")), profileWindow),
          30,
        );
      } else log(`  no .cpuprofile written in ${profileDir}`);
    }
  }
}

// ── ground truth ────────────────────────────────────────────────────────────────────────────────

interface Truth {
  /** Per customer: order eventIds after the watermark, in stream order. */
  expected: Record<string, string[]>;
  /** Per customer: index of its last event at or before `atListen` (−1: none). */
  lastAtListen: Record<string, number>;
  /** Per customer: that event's id (customers with none are caught up at once). */
  targets: Record<string, string>;
}

async function groundTruth(
  redis: Redis,
  key: string,
  watermark: string,
  atListen: string,
  customers: number,
): Promise<Truth> {
  const truth: Truth = { expected: {}, lastAtListen: {}, targets: {} };
  for (let c = 0; c < customers; c++) {
    truth.expected[`c-${c}`] = [];
    truth.lastAtListen[`c-${c}`] = -1;
  }
  for await (const entry of entriesAfter(redis, key, watermark)) {
    if (!ORDER_TYPES.has(entry.type)) continue;
    const customer = entry.keys.find((k) => k.startsWith("customer:"))?.slice("customer:".length);
    if (!customer || !(customer in truth.expected)) continue;
    const eventId = (JSON.parse(entry.json) as { eventId: string }).eventId;
    const list = truth.expected[customer]!;
    list.push(eventId);
    if (compareIds(entry.id, atListen) <= 0) {
      truth.lastAtListen[customer] = list.length - 1;
      truth.targets[customer] = eventId;
    }
  }
  return truth;
}

/** Every order in Postgres against the OrderCreated events in the stream (the relay lost none?). */
async function ordersAgainstStream(
  redis: Redis,
  key: string,
  db: pg.Client,
): Promise<{ inDb: number; withoutEvent: number }> {
  const created = new Set<string>();
  for await (const e of entriesAfter(redis, key, "-")) if (e.type === "OrderCreated") created.add(e.aggregateId);
  const { rows } = await db.query<{ id: string }>("SELECT id FROM orders");
  return { inDb: rows.length, withoutEvent: rows.filter((r) => !created.has(r.id)).length };
}

async function* entriesAfter(redis: Redis, key: string, after: string) {
  let from = after === "-" ? "-" : `(${after}`;
  for (;;) {
    const page = (await redis.xrange(key, from, "+", "COUNT", 5000)) as [string, string[]][];
    for (const [id, fields] of page) yield decodeEntry(id, fields);
    if (page.length < 5000) return;
    from = `(${page.at(-1)![0]}`;
  }
}

async function lastId(redis: Redis, key: string): Promise<string> {
  const [last] = (await redis.xrevrange(key, "+", "-", "COUNT", 1)) as [string, string[]][];
  return last?.[0] ?? "0-0";
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am! !== bm! ? (am! < bm! ? -1 : 1) : as! === bs! ? 0 : as! < bs! ? -1 : 1;
}

/** Outbox empty and the orders stream unchanged for 2 s: every order's events are in the stream (bounded 60 s). */
async function drained(label: string, redis: Redis, key: string, db: pg.Client): Promise<void> {
  let last = "";
  let sameSince = Date.now();
  await waitFor(
    label,
    60_000,
    async () => {
      const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM outbox");
      const id = await lastId(redis, key);
      if (id !== last || rows[0]!.n !== "0") {
        last = id;
        sameSince = Date.now();
      }
      return Date.now() - sameSince >= 2_000;
    },
    () => "draining outbox and stream",
  );
}

async function verify(procs: ClientProc[], args: VerifyArgs): Promise<VerifyReport[]> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<VerifyReport>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("client verify timed out")), 60_000);
          p.verified = (r) => {
            clearTimeout(timer);
            resolve(r);
          };
          p.child.send({ cmd: "verify", args } satisfies ClientCommand);
        }),
    ),
  );
}

// ── peer bridge: orders stream → Redis Pub/Sub, as a Yoga app publishes after commit ────────────

function startBridge(scratch: Scratch, key: string): { stop(): void } {
  const reader = createRedis(scratch.redisUrl, "bench-resume-bridge-read");
  const publisher = createRedis(scratch.redisUrl, "bench-resume-bridge-publish");
  let stopped = false;
  void (async () => {
    let from = "$";
    while (!stopped) {
      const res = (await reader.xread("COUNT", 1000, "BLOCK", 500, "STREAMS", key, from).catch(() => null)) as
        [string, [string, string[]][]][] | null;
      if (!res) continue;
      const pipeline = publisher.pipeline();
      for (const [id, fields] of res[0]![1]) {
        from = id;
        const entry = decodeEntry(id, fields);
        if (!ORDER_TYPES.has(entry.type)) continue;
        const e = JSON.parse(entry.json) as {
          eventId: string;
          aggregateId: string;
          occurredAt: string;
          payload: { customerId: string; totalCents?: number };
        };
        const event = {
          eventId: e.eventId,
          orderId: e.aggregateId,
          customerId: e.payload.customerId,
          occurredAt: e.occurredAt,
          totalCents: e.payload.totalCents ?? 0,
        };
        pipeline.publish(`${scratch.streamPrefix}:orderEvents:${event.customerId}`, JSON.stringify(event));
      }
      await pipeline.exec();
    }
  })();
  return {
    stop() {
      stopped = true;
      reader.disconnect();
      publisher.disconnect();
    },
  };
}

// ── order flow child ────────────────────────────────────────────────────────────────────────────

interface OrdersProc {
  child: ReturnType<typeof forkScript>;
  last: { ok: number; errors: number; failovers: number };
  done: Promise<{ mutations: Mutation[]; errorSamples: string[] }>;
}

function startOrders(args: OrdersArgs): OrdersProc {
  const child = forkScript("bench/resume-orders.ts");
  const proc: OrdersProc = {
    child,
    last: { ok: 0, errors: 0, failovers: 0 },
    done: new Promise((resolve, reject) => {
      child.on("message", (m: OrdersMessage) => {
        if (m.kind === "progress") proc.last = m;
        else resolve(m);
      });
      child.once("exit", (code) => reject(new Error(`order flow exited (${code}) before reporting`)));
    }),
  };
  proc.done.catch(() => {}); // awaited by stopOrders; an early exit must not crash the bench meanwhile
  child.send({ cmd: "start", args } satisfies OrdersCommand);
  return proc;
}

async function stopOrders(p: OrdersProc): Promise<{ mutations: Mutation[]; failovers: number }> {
  p.child.send({ cmd: "stop" } satisfies OrdersCommand);
  const { mutations, errorSamples } = await p.done;
  if (errorSamples.length) log(`  order flow: ${p.last.errors} errors, e.g. ${errorSamples.slice(0, 2).join(" | ")}`);
  log(`  order flow: ${p.last.ok} orders created, ${p.last.failovers} sent to the backend after a refused connection`);
  return { mutations, failovers: p.last.failovers };
}

// ── small helpers ───────────────────────────────────────────────────────────────────────────────

/** Polls `done` every 50 ms, logging `progress` every 2 s; throws after `limitMs` unless `soft`. */
async function waitFor(
  label: string,
  limitMs: number,
  done: () => boolean | Promise<boolean>,
  progress: () => string,
  soft = false,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  let logged = Date.now();
  while (!(await done())) {
    if (Date.now() > deadline) {
      if (soft) return log(`  ${label}: gave up after ${limitMs / 1000} s: ${progress()}`);
      throw new Error(`${label}: not done in ${limitMs / 1000} s: ${progress()}`);
    }
    if (Date.now() - logged >= 2_000) {
      logged = Date.now();
      log(`  ${label}: ${progress()}`);
    }
    await sleep(50);
  }
}

/** True once `value()` has not changed for `ms`. */
function stillFor(ms: number, value: () => number): () => boolean {
  let last = NaN;
  let since = Date.now();
  return () => {
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    }
    return Date.now() - since >= ms;
  };
}

/** Resolves with the time of the first accepted TCP connect on the port (polled every 10 ms). */
async function waitListening(port: number, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return Date.now();
    if (Date.now() > deadline) throw new Error(`port ${port} not listening within ${limitMs / 1000} s`);
    await sleep(10);
  }
}

function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join("/");
}

function openFileLimit(): string {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const [soft, hard] = line!.split(/\s{2,}/).slice(1, 3);
    return `soft ${soft}, hard ${hard}`;
  } catch {
    return "unknown";
  }
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    subscribers: [1_000, 5_000, 10_000],
    rate: 100,
    customers: 100,
    steadySeconds: 10,
    clientProcs: 4,
    retryMs: 300,
    catchUpS: 120,
    peer: true,
    ordersElsewhere: false,
    profile: false,
  };
  readArgs(argv, (a, arg) => {
    if (a === "--subscribers") o.subscribers = arg.list(1, 40_000);
    else if (a === "--rate") o.rate = arg.number(1, 2_000);
    else if (a === "--customers") o.customers = arg.number(1, 100_000);
    else if (a === "--steady-seconds") o.steadySeconds = arg.number(2, 300);
    else if (a === "--client-procs") o.clientProcs = arg.number(1, 16);
    else if (a === "--retry-ms") o.retryMs = arg.number(10, 10_000);
    else if (a === "--no-peer") o.peer = false;
    else if (a === "--orders-elsewhere") o.ordersElsewhere = true;
    else if (a === "--catch-up-s") o.catchUpS = arg.number(10, 3_600);
    else if (a === "--profile") o.profile = true;
    else return false;
    return true;
  });
  return o;
}
