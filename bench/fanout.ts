/**
 * fanout — live subscribers on ONE api process, against a raw fan-out server; and peer — the same
 * load on a plain GraphQL Yoga server using @graphql-yoga/redis-event-target.
 *
 *   npm run bench -- fanout [--subscribers 1000,5000,10000,20000] [--rate 500] [--per-customer 10]
 *                           [--seconds 20] [--no-raw] [--profile]
 *   npm run bench -- broadcast [--subscribers 200,2000] [--rates 50,100] [--seconds 10] [--client-procs 4]
 *   npm run bench -- peer   [--subscribers 5000] [--rates 500,4000] [--per-customer 10] [--seconds 15]
 *                           [--restart-subscribers 1000] [--restart-seconds 20] [--restart-only]
 *
 * Load: N graphql-ws subscribers, subscriber i watching `orderEvents(customerId: "c-<i mod N/F>")`,
 * so each event reaches F subscribers (--per-customer, default 10) and N/F customers are watched.
 * Events are OrderCreated envelopes built with the app's eventCatalog.create() (validated, UUID v7, trace) and
 * XADDed to <prefix>:orders with the relay's entry layout (encodeEntryFields) — exactly what the
 * relay writes after a commit — at --rate events/s, round-robin over the customers; occurredAt is
 * set when the event is added, so now − occurredAt at the client is commit→client latency minus the
 * relay hop (which `relay` and `saga` measure). The sequence number travels in totalCents.
 *
 * Processes, all on loopback: the server under test (the app with ROLES=api, `node dist/main.js`, or
 * bench/fanout-raw-server.ts, or bench/peer-server.ts), and one bench/fanout-client.ts per 5,000
 * sockets, each from its own 127.0.0.x source address (ephemeral ports). The soft and hard open-file
 * limit here is 20,000 per process, so above 19,000 subscribers two subscriptions share a socket.
 *
 * Per N: start the server; connect (bounded 180 s); prime — one event per watched customer until every
 * subscriber has received one, so all are live (bounded 90 s); measure --seconds at --rate, then wait
 * for the stragglers (bounded 10 s); report delivered/expected, latency p50/p99/max, the server's
 * CPU (cores) and RSS (max sampled each second), the clients' CPU, the whole machine's.
 *
 * peer adds a restart test: --restart-subscribers subscribers, --rate events/s for --restart-seconds;
 * a third of the way in the server is SIGKILLed and started again on the same port. Our clients
 * resume with `after` (src/client/resuming-subscription.ts); the peer's resubscribe. Reports events
 * lost and duplicated across the restart.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { createRedis } from "../src/platform/infra/redis.ts";
import { encodeEntryFields } from "../src/platform/events/stream-entry.ts";
import { streamKey } from "../test/support/streams.ts";
import { continueTrace } from "../src/platform/observability/trace.ts";
import { v7 as uuidv7 } from "uuid";
import { createScratch, deleteKeys, log, type Scratch } from "./lib/scratch.ts";
import { machineInfo, printMachine } from "./lib/machine.ts";
import { CpuWindow, processCpuMs, settle } from "./lib/cpu.ts";
import { fmt, ratio, table } from "./lib/table.ts";
import { forkScript, rssBytes, sleep, startApp, startChild, type AppChild } from "./lib/app.ts";
import { adminToken } from "./lib/auth.ts";
import { readArgs } from "./lib/args.ts";
import { printProfileSummary, summarizeProfile } from "./cpuprofile-summary.ts";
import type {
  ClientArgs,
  ClientCommand,
  ClientMessage,
  ClientReport,
  ServerKind,
  VerifyReport,
} from "./fanout-client.ts";
import { eventCatalog } from "../src/contracts/index.ts";

const SOCKETS_PER_CLIENT = 5_000;
const MAX_SOCKETS = 19_000;

interface Options {
  subscribers: number[];
  rates: number[];
  perCustomer: number;
  seconds: number;
  raw: boolean;
  restartSubscribers: number;
  restartSeconds: number;
  /** Extra node flags for the server under test (e.g. --cpu-prof). */
  serverNodeArgs: string[];
  env: Record<string, string>;
  /** Profile our server (--cpu-prof) over the measured window and print the summary. */
  profile: boolean;
  /** peer: only the restart test. */
  restartOnly: boolean;
  /** Client processes holding the sockets (default: one per 5,000 sockets). */
  clientProcs?: number;
}

export interface FanoutResult {
  server: string;
  subscribers: number;
  sockets: number;
  rate: number;
  events: number;
  expected: number;
  delivered: number;
  deliveredPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  serverCores: number;
  clientCores: number;
  machineCores: number;
  rssMiB: number;
  rssIdleMiB: number;
  errors: number;
  note: string;
}

export async function fanoutBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv, { subscribers: [1_000, 5_000, 10_000, 20_000], rates: [500], seconds: 20 });
  await withScratch("fanout", async (scratch, redis) => {
    const results: FanoutResult[] = [];
    for (const n of o.subscribers) {
      for (const rate of o.rates) {
        results.push(await fanoutRun("ours", n, rate, o, scratch, redis));
        if (o.raw) results.push(await fanoutRun("raw", n, rate, o, scratch, redis));
      }
    }
    console.log(
      `\nfanout — ${o.seconds} s measured per run, each event reaches ${o.perCustomer} subscribers, one server process\n`,
    );
    console.log(fanoutTable(results, "raw"));
    console.log();
  });
}

/**
 * broadcast — every subscriber watches the same customer, so each event goes to all of them: ours
 * against the Pub/Sub peer in the same run (issue 19, goal 1). `--subscribers` and `--rates` pair up
 * by position (default 200 at 50 events/s, 2,000 at 100/s); clients in --client-procs processes (4).
 */
export async function broadcastBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv, { subscribers: [200, 2_000], rates: [50, 100], seconds: 10 });
  o.clientProcs ??= 4;
  if (o.rates.length !== o.subscribers.length)
    throw new Error("--subscribers and --rates pair up: give as many of each");
  await withScratch("broadcast", async (scratch, redis) => {
    const results: FanoutResult[] = [];
    for (const [i, n] of o.subscribers.entries()) {
      const run = { ...o, perCustomer: n };
      results.push(await fanoutRun("ours", n, o.rates[i]!, run, scratch, redis));
      results.push(await fanoutRun("peer", n, o.rates[i]!, run, scratch, redis));
    }
    console.log(
      `\nbroadcast — every subscriber watches one customer; ${o.seconds} s measured per run, one server process, ${o.clientProcs} client processes\n`,
    );
    console.log(fanoutTable(results, "peer"));
    console.log();
  });
}

export async function peerBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv, { subscribers: [5_000], rates: [500, 4_000], seconds: 15 });
  await withScratch("peer", async (scratch, redis) => {
    const results: FanoutResult[] = [];
    for (const n of o.restartOnly ? [] : o.subscribers) {
      for (const rate of o.rates) {
        results.push(await fanoutRun("ours", n, rate, o, scratch, redis));
        results.push(await fanoutRun("peer", n, rate, o, scratch, redis));
      }
    }
    const restarts = [await restartRun("ours", o, scratch, redis), await restartRun("peer", o, scratch, redis)];
    console.log(
      `\npeer — ${o.seconds} s measured per run, each event reaches ${o.perCustomer} subscribers, one server process\n`,
    );
    console.log(fanoutTable(results, "peer"));
    console.log(
      `\npeer — server SIGKILLed and restarted mid-stream: ${o.restartSubscribers} subscribers, ${o.rates[0]} events/s for ${o.restartSeconds} s\n`,
    );
    console.log(
      table(
        [
          "server",
          "events published",
          "deliveries expected",
          "delivered (distinct)",
          "lost",
          "duplicates",
          "down for",
          "note",
        ],
        restarts.map((r) => [
          r.server,
          fmt(r.published),
          fmt(r.expected),
          fmt(r.distinct),
          fmt(r.lost),
          fmt(r.duplicates),
          `${fmt(r.downMs)} ms`,
          r.note,
        ]),
      ),
    );
    console.log();
  });
}

async function withScratch(name: string, fn: (scratch: Scratch, redis: Redis) => Promise<void>): Promise<void> {
  const scratch = await createScratch(name);
  const redis = createRedis(scratch.redisUrl, `bench-${name}`);
  try {
    printMachine(await machineInfo(scratch.databaseUrl, scratch.redisUrl));
    await fn(scratch, redis);
  } finally {
    redis.disconnect();
    await scratch.cleanup();
  }
}

export function fanoutTable(results: FanoutResult[], baseline: string): string {
  const base = (r: FanoutResult) =>
    results.find((b) => b.server === baseline && b.subscribers === r.subscribers && b.rate === r.rate);
  return table(
    [
      "server",
      "subscribers",
      "sockets",
      "events/s",
      "delivered/s",
      "delivered",
      "p50 ms",
      "p99 ms",
      "max ms",
      `p99 ÷ ${baseline}`,
      `delivered/s ÷ ${baseline}`,
      "cores: server",
      `server cores ÷ ${baseline}`,
      "RSS MiB (idle → max)",
      "cores: clients",
      "cores: machine",
      "errors",
    ],
    results.map((r) => {
      const b = base(r);
      const isBase = r.server === baseline;
      return [
        r.server,
        fmt(r.subscribers),
        fmt(r.sockets),
        fmt(r.rate),
        fmt(r.deliveredPerSecond),
        `${fmt(r.delivered)} / ${fmt(r.expected)}`,
        fmt(r.p50),
        fmt(r.p99),
        fmt(r.max),
        isBase || !b ? "" : ratio(r.p99, b.p99),
        isBase || !b ? "" : ratio(r.deliveredPerSecond, b.deliveredPerSecond),
        fmt(r.serverCores, 2),
        isBase || !b ? "" : ratio(r.serverCores, b.serverCores),
        `${fmt(r.rssIdleMiB)} → ${fmt(r.rssMiB)}`,
        fmt(r.clientCores, 2),
        fmt(r.machineCores, 2),
        r.errors,
      ];
    }),
  );
}

// ── servers ─────────────────────────────────────────────────────────────────────────────────────

export async function startServer(
  kind: ServerKind,
  scratch: Scratch,
  o: Pick<Options, "serverNodeArgs" | "env">,
  port?: number,
): Promise<AppChild> {
  if (kind === "ours") {
    return startApp(scratch, "api", 4, o.serverNodeArgs, { HUB_BLOCK_MS: "5000", ...o.env }, port);
  }
  const server = await startChild({
    script: kind === "raw" ? "bench/fanout-raw-server.ts" : "bench/peer-server.ts",
    label: kind,
    readyPath: kind === "raw" ? "/ready" : "/health",
    nodeArgs: o.serverNodeArgs,
    port,
    env: {
      REDIS_URL: scratch.redisUrl,
      STREAM_KEY: streamKey(scratch.streamPrefix, "orders"),
      CHANNEL_PREFIX: scratch.streamPrefix,
    },
  });
  log(`${kind} server started (pid ${server.child.pid}) at ${server.url}`);
  return server;
}

// ── publishing ──────────────────────────────────────────────────────────────────────────────────

class Publisher {
  seq = 0;
  private readonly key: string;
  constructor(
    private readonly kind: ServerKind,
    private readonly redis: Redis,
    private readonly scratch: Scratch,
    private readonly customers: number,
  ) {
    this.key = streamKey(scratch.streamPrefix, "orders");
  }

  /** Adds events seq..seq+count-1 in one pipeline (customer = seq mod customers). */
  async publish(count: number): Promise<void> {
    const pipeline = this.redis.pipeline();
    const now = new Date();
    for (let i = 0; i < count; i++) {
      const seq = this.seq++;
      const customerId = `c-${seq % this.customers}`;
      const orderId = uuidv7();
      if (this.kind === "peer") {
        const event = { eventId: uuidv7(), orderId, customerId, occurredAt: now.toISOString(), totalCents: seq };
        pipeline.publish(`${this.scratch.streamPrefix}:orderEvents:${customerId}`, JSON.stringify(event));
      } else {
        const e = eventCatalog.create(
          "OrderCreated",
          orderId,
          {
            customerId,
            currency: "EUR",
            totalCents: seq,
            items: [{ sku: "SKU-001", quantity: 1, unitPriceCents: seq }],
          },
          { trace: continueTrace() },
          now,
        );
        pipeline.xadd(this.key, "*", ...encodeEntryFields(e, eventCatalog.routingKeys(e)));
      }
    }
    const results = await pipeline.exec();
    if (results?.some(([err]) => err)) throw new Error(`publish failed: ${results.find(([err]) => err)![0]}`);
  }

  /** Publishes at `rate` events/s for `seconds` (10 ms ticks), or until `stop()` returns true. */
  async run(
    rate: number,
    seconds: number,
    onSecond: (second: number) => void,
    stop: () => boolean = () => false,
  ): Promise<number> {
    const t0 = performance.now();
    const first = this.seq;
    let second = 0;
    for (;;) {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= seconds || stop()) break;
      const due = Math.floor(elapsed * rate) - (this.seq - first);
      if (due > 0) await this.publish(due);
      if (Math.floor(elapsed) > second) onSecond(++second);
      await sleep(10);
    }
    return this.seq - first;
  }
}

// ── clients ─────────────────────────────────────────────────────────────────────────────────────

export interface ClientProc {
  child: ChildProcess;
  subscribers: number;
  last: Extract<ClientMessage, { kind: "progress" }>;
  report?: (r: ClientReport) => void;
  verified?: (r: VerifyReport) => void;
}

export function startClients(
  kind: ServerKind,
  url: string,
  subscribers: number,
  customers: number,
  perSocket: number,
  trackSeqs: boolean,
  maxSeconds: number,
  authorization: string,
  extra: Pick<ClientArgs, "trackIds" | "retryMs"> & { processes?: number } = {},
): ClientProc[] {
  const sockets = Math.ceil(subscribers / perSocket);
  const { processes, ...more } = extra;
  const perProcess = processes ? Math.ceil(sockets / processes) : SOCKETS_PER_CLIENT;
  const procs: ClientProc[] = [];
  for (let p = 0, first = 0; first < sockets; p++, first += perProcess) {
    const child = forkScript("bench/fanout-client.ts");
    const mySockets = Math.min(perProcess, sockets - first);
    const proc: ClientProc = {
      child,
      subscribers: mySockets * perSocket,
      last: { kind: "progress", connected: 0, open: 0, primed: 0, received: 0, errors: 0, closes: 0, caughtUp: 0 },
    };
    child.on("message", (m: ClientMessage) => {
      if (m.kind === "progress") proc.last = m;
      else if (m.kind === "verified") proc.verified?.(m.report);
      else proc.report?.(m.report);
    });
    const args: ClientArgs = {
      url,
      kind,
      sockets: mySockets,
      perSocket,
      firstIndex: first * perSocket,
      customers,
      localAddress: `127.0.0.${10 + p}`,
      resume: kind === "ours",
      trackSeqs,
      maxSeconds,
      authorization,
      ...more,
    };
    child.send({ cmd: "start", args } satisfies ClientCommand);
    procs.push(proc);
  }
  return procs;
}

export const sum = (procs: ClientProc[], f: (p: ClientProc["last"]) => number) =>
  procs.reduce((s, p) => s + f(p.last), 0);
export const sendAll = (procs: ClientProc[], m: ClientCommand) =>
  procs.forEach((p) => p.child.connected && p.child.send(m));

async function collect(procs: ClientProc[], seqFrom = 0, seqTo = -1): Promise<ClientReport[]> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<ClientReport>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("client report timed out")), 30_000);
          p.report = (r) => {
            clearTimeout(timer);
            resolve(r);
          };
          p.child.send({ cmd: "report", seqFrom, seqTo } satisfies ClientCommand);
        }),
    ),
  );
}

export async function stopClients(procs: ClientProc[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null) return resolve();
          const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
          p.child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          if (p.child.connected) p.child.send({ cmd: "stop" } satisfies ClientCommand);
          else p.child.kill("SIGTERM");
        }),
    ),
  );
}

export async function connectAll(
  label: string,
  procs: ClientProc[],
  sockets: number,
  server: AppChild,
  limitMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const connected = sum(procs, (p) => p.connected);
    if (connected >= sockets) break;
    if (server.child.exitCode !== null) throw new Error(`${label}: server exited`);
    if (Date.now() > deadline)
      throw new Error(
        `${label}: only ${connected} of ${sockets} sockets connected in ${limitMs / 1000} s (errors ${sum(procs, (p) => p.errors)})`,
      );
    log(
      `  ${label}: ${fmt(connected)} / ${fmt(sockets)} sockets connected, server RSS ${fmt(rssBytes(server.child.pid!) / 2 ** 20)} MiB`,
    );
    await sleep(2_000);
  }
}

/** One event per watched customer, repeated until every subscriber has received one (bounded). */
async function prime(
  label: string,
  procs: ClientProc[],
  publisher: Publisher,
  subscribers: number,
  customers: number,
  rate: number,
): Promise<void> {
  const deadline = Date.now() + 90_000;
  let round = 0;
  for (;;) {
    const primed = sum(procs, (p) => p.primed);
    if (primed >= subscribers) break;
    if (Date.now() > deadline)
      throw new Error(
        `${label}: only ${primed} of ${subscribers} subscribers received an event within 90 s (errors ${sum(procs, (p) => p.errors)})`,
      );
    log(`  ${label}: priming round ${++round}: ${fmt(primed)} / ${fmt(subscribers)} subscribers live`);
    for (let sent = 0; sent < customers; sent += 500) {
      await publisher.publish(Math.min(500, customers - sent));
      await sleep(Math.max(10, (500 / Math.max(rate, 2_000)) * 1000));
    }
    await sleep(2_000);
  }
  // Extra priming rounds leave deliveries in flight when the server lags: let them land first.
  const quietUntil = Date.now() + 60_000;
  let last = -1;
  for (;;) {
    const received = sum(procs, (p) => p.received);
    if (received === last || Date.now() > quietUntil) break;
    last = received;
    await sleep(1_500);
  }
}

// ── one fan-out run ─────────────────────────────────────────────────────────────────────────────

async function fanoutRun(
  kind: ServerKind,
  subscribers: number,
  rate: number,
  o: Options,
  scratch: Scratch,
  redis: Redis,
): Promise<FanoutResult> {
  const label = `${kind} n=${subscribers} rate=${rate}`;
  log(`── ${label} ──`);
  const perSocket = subscribers > MAX_SOCKETS ? Math.ceil(subscribers / MAX_SOCKETS) : 1;
  const sockets = Math.ceil(subscribers / perSocket);
  const customers = Math.max(1, Math.floor(subscribers / o.perCustomer));
  await deleteKeys(scratch.redisUrl, `${scratch.streamPrefix}:*`);
  await settle(label);
  const profileDir = o.profile && kind === "ours" ? mkdtempSync(path.join(os.tmpdir(), "bench-cpuprof-")) : undefined;
  const server = await startServer(
    kind,
    scratch,
    profileDir ? { ...o, serverNodeArgs: [...o.serverNodeArgs, "--cpu-prof", "--cpu-prof-dir", profileDir] } : o,
  );
  const pid = server.child.pid!;
  let window: { fromUs: number; toUs: number } | undefined;
  const publisher = new Publisher(kind, redis, scratch, customers);
  const procs = startClients(
    kind,
    server.url,
    subscribers,
    customers,
    perSocket,
    false,
    600,
    `Bearer ${await adminToken()}`,
    { processes: o.clientProcs },
  );
  try {
    const t0 = performance.now();
    await connectAll(label, procs, sockets, server);
    log(`  ${label}: ${fmt(sockets)} sockets connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await prime(label, procs, publisher, subscribers, customers, rate);
    await sleep(1_000);
    const rssIdle = rssBytes(pid);
    await eventLoopLag(kind, server); // prom-client resets its event-loop histogram on each scrape
    sendAll(procs, { cmd: "measure", on: true });
    await sleep(100);
    const cpu = new CpuWindow(() => ({ server: [pid], clients: procs.map((p) => p.child.pid!) }));
    const serverCpu0 = processCpuMs(pid);
    let rssMax = rssIdle;
    const startReceived = sum(procs, (p) => p.received);
    const seq0 = publisher.seq;
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const events = await publisher.run(rate, o.seconds, (s) => {
      rssMax = Math.max(rssMax, rssBytes(pid));
      if (s % 5 === 0 || s === 1)
        log(
          `  ${label} ${s}s: ${fmt(publisher.seq - seq0)} events, ${fmt(sum(procs, (p) => p.received) - startReceived)} deliveries, server ${fmt(rssBytes(pid) / 2 ** 20)} MiB`,
        );
    });
    const expected = events * o.perCustomer;
    // Stragglers: wait until everything arrived or nothing moves for 2 s (bounded 10 s).
    const drainUntil = Date.now() + 10_000;
    let lastSeen = -1;
    let still = 0;
    while (Date.now() < drainUntil) {
      await sleep(250);
      const seen = sum(procs, (p) => p.received) - startReceived;
      if (seen >= expected) break;
      still = seen === lastSeen ? still + 1 : 0;
      lastSeen = seen;
      if (still >= 8) break;
    }
    const used = cpu.finish();
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    const lag = await eventLoopLag(kind, server);
    const wall = (processCpuMs(pid) - serverCpu0) / 1000;
    rssMax = Math.max(rssMax, rssBytes(pid));
    sendAll(procs, { cmd: "measure", on: false });
    const reports = await collect(procs);
    const hist = new Array<number>(reports[0]!.hist.length).fill(0);
    for (const r of reports) r.hist.forEach((c, i) => (hist[i]! += c));
    const delivered = reports.reduce((s, r) => s + r.delivered, 0);
    const errors = reports.reduce((s, r) => s + r.errors, 0);
    if (errors)
      log(
        `  ${label}: ${errors} client errors, e.g. ${reports
          .flatMap((r) => r.errorSamples)
          .slice(0, 3)
          .join(" | ")}`,
      );
    const pct = percentile(hist);
    const result: FanoutResult = {
      server: kind,
      subscribers,
      sockets,
      rate,
      events,
      expected,
      delivered,
      deliveredPerSecond: delivered / o.seconds,
      p50: pct(50),
      p99: pct(99),
      max: pct(100),
      serverCores: used.server ?? NaN,
      clientCores: used.clients ?? NaN,
      machineCores: used.machine,
      rssMiB: rssMax / 2 ** 20,
      rssIdleMiB: rssIdle / 2 ** 20,
      errors,
      note: `server CPU ${wall.toFixed(1)} s${lag ? `, event-loop delay p99 ${fmt(lag.p99)} ms, max ${fmt(lag.max)} ms` : ""}`,
    };
    log(
      `  ${label}: delivered ${fmt(delivered)} / ${fmt(expected)}, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, max ${fmt(result.max)} ms, ` +
        `server ${fmt(result.serverCores, 2)} cores, RSS ${fmt(result.rssIdleMiB)} → ${fmt(result.rssMiB)} MiB, clients ${fmt(result.clientCores, 2)} cores; ${result.note}`,
    );
    return result;
  } finally {
    await stopClients(procs);
    await server.stop();
    if (profileDir && window) {
      const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
      if (file) {
        console.log(`\n${label} under --cpu-prof (measured window only): ${path.join(profileDir, file)}\n`);
        printProfileSummary(
          summarizeProfile(JSON.parse(readFileSync(path.join(profileDir, file), "utf8")), window),
          30,
        );
      } else log(`  no .cpuprofile written in ${profileDir}`);
    }
  }
}

/** Our server's event-loop delay since the last scrape (prom-client default metrics at /metrics), in ms. */
async function eventLoopLag(kind: ServerKind, server: AppChild): Promise<{ p99: number; max: number } | undefined> {
  if (kind !== "ours") return undefined;
  try {
    const text = await (
      await fetch(server.url.replace(/\/graphql$/, "/metrics"), { signal: AbortSignal.timeout(5_000) })
    ).text();
    const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, "m").exec(text)?.[1]) * 1000;
    return { p99: value("nodejs_eventloop_lag_p99_seconds"), max: value("nodejs_eventloop_lag_max_seconds") };
  } catch {
    return undefined;
  }
}

export function percentile(hist: number[]): (p: number) => number {
  const total = hist.reduce((a, b) => a + b, 0);
  return (p: number) => {
    if (!total) return NaN;
    const target = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (let i = 0; i < hist.length; i++) {
      seen += hist[i]!;
      if (seen >= target) return i;
    }
    return hist.length - 1;
  };
}

// ── restart: events lost across a server restart ────────────────────────────────────────────────

interface RestartResult {
  server: string;
  published: number;
  expected: number;
  distinct: number;
  lost: number;
  duplicates: number;
  downMs: number;
  note: string;
}

async function restartRun(kind: ServerKind, o: Options, scratch: Scratch, redis: Redis): Promise<RestartResult> {
  const subscribers = o.restartSubscribers;
  const rate = o.rates[0]!;
  const label = `${kind} restart n=${subscribers}`;
  log(`── ${label} ──`);
  const customers = Math.max(1, Math.floor(subscribers / o.perCustomer));
  await deleteKeys(scratch.redisUrl, `${scratch.streamPrefix}:*`);
  let server = await startServer(kind, scratch, o);
  const port = server.port;
  const publisher = new Publisher(kind, redis, scratch, customers);
  const procs = startClients(kind, server.url, subscribers, customers, 1, true, 600, `Bearer ${await adminToken()}`);
  try {
    await connectAll(label, procs, subscribers, server);
    await prime(label, procs, publisher, subscribers, customers, rate);
    await sleep(1_000);
    const seqFrom = publisher.seq;
    const killAt = o.restartSeconds / 3;
    let downMs = 0;
    let restarting: Promise<void> | undefined;
    const published = await publisher.run(rate, o.restartSeconds, (s) => {
      log(
        `  ${label} ${s}s: ${fmt(publisher.seq - seqFrom)} events published, ${fmt(sum(procs, (p) => p.received))} received in all, ${sum(procs, (p) => p.connected)} connects`,
      );
      if (s === Math.round(killAt) && !restarting) {
        restarting = (async () => {
          const t = performance.now();
          log(`  ${label}: SIGKILL the server (pid ${server.child.pid}) and start it again on port ${port}`);
          await server.kill("SIGKILL");
          server = await startServer(kind, scratch, o, port);
          downMs = performance.now() - t;
          log(`  ${label}: server back after ${fmt(downMs)} ms`);
        })();
      }
    });
    await restarting;
    const seqTo = publisher.seq - 1;
    const expected = published * o.perCustomer;
    // Let resumed clients catch up: until all arrived, or nothing new for 10 s (bounded 120 s).
    const catchUpFrom = performance.now();
    const until = Date.now() + 120_000;
    let reports = await collect(procs, seqFrom, seqTo);
    let before = -1;
    let still = 0;
    for (;;) {
      const got = reports.reduce((s, r) => s + r.distinctInWindow, 0);
      if (got >= expected || Date.now() > until) break;
      still = got === before ? still + 1 : 0;
      if (still >= 5) break;
      before = got;
      log(`  ${label}: catching up, ${fmt(got)} of ${fmt(expected)} deliveries`);
      await sleep(2_000);
      reports = await collect(procs, seqFrom, seqTo);
    }
    const distinct = reports.reduce((s, r) => s + r.distinctInWindow, 0);
    const duplicates = reports.reduce((s, r) => s + r.duplicates, 0);
    const connects = reports.reduce((s, r) => s + r.connects, 0);
    const errors = reports.reduce((s, r) => s + r.errors, 0);
    if (errors)
      log(
        `  ${label}: ${errors} client errors (connection errors while the server is down count here), e.g. ${reports
          .flatMap((r) => r.errorSamples)
          .slice(0, 3)
          .join(" | ")}`,
      );
    const result: RestartResult = {
      server: kind,
      published,
      expected,
      distinct,
      lost: expected - distinct,
      duplicates,
      downMs,
      note: `${connects} connects for ${subscribers} sockets, ${errors} client errors; ${kind === "ours" ? "clients resume with after" : "clients resubscribe"}; waited ${fmt((performance.now() - catchUpFrom) / 1000)} s after the last event for stragglers`,
    };
    log(
      `  ${label}: ${fmt(distinct)} of ${fmt(expected)} deliveries, lost ${fmt(result.lost)}, duplicates ${duplicates}, down ${fmt(downMs)} ms`,
    );
    return result;
  } finally {
    await stopClients(procs);
    await server.stop();
  }
}

// ── options ─────────────────────────────────────────────────────────────────────────────────────

function parseOptions(argv: string[], defaults: { subscribers: number[]; rates: number[]; seconds: number }): Options {
  const o: Options = {
    subscribers: defaults.subscribers,
    rates: defaults.rates,
    perCustomer: 10,
    seconds: defaults.seconds,
    raw: true,
    restartSubscribers: 1_000,
    restartSeconds: 20,
    serverNodeArgs: [],
    env: {},
    profile: false,
    restartOnly: false,
  };
  readArgs(argv, (a, arg) => {
    if (a === "--subscribers") o.subscribers = arg.list(1, 40_000);
    else if (a === "--rate" || a === "--rates") o.rates = arg.list(1, 50_000);
    else if (a === "--per-customer") o.perCustomer = arg.number(1, 10_000);
    else if (a === "--seconds") o.seconds = arg.number(2, 300);
    else if (a === "--no-raw") o.raw = false;
    else if (a === "--profile") o.profile = true;
    else if (a === "--restart-only") o.restartOnly = true;
    else if (a === "--client-procs") o.clientProcs = arg.number(1, 16);
    else if (a === "--restart-subscribers") o.restartSubscribers = arg.number(1, 10_000);
    else if (a === "--restart-seconds") o.restartSeconds = arg.number(6, 300);
    else if (a === "--server-node-args") o.serverNodeArgs = arg.value().split(" ").filter(Boolean);
    else if (a === "--env") {
      const [k, ...v] = arg.value().split("=");
      o.env[k!] = v.join("=");
    } else return false;
    return true;
  });
  if (o.subscribers.some((n) => n / o.perCustomer < 1))
    throw new Error("--per-customer must not exceed the subscriber count");
  if (o.profile) o.raw = false;
  if (os.cpus().length < 2) log("warning: fewer than 2 cores; the server and the clients share one");
  return o;
}
