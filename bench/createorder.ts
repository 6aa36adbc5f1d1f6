/**
 * createorder — HTTP createOrder throughput and latency against raw-SQL baselines.
 *
 *   npm run bench -- createorder [--seconds 10] [--warmup 3] [--concurrency 8,32,64] [--pool 16]
 *                                [--roles api] [--no-mirror] [--no-notify-baseline] [--e2e]
 *   npm run bench -- createorder --profile [--concurrency 32] [--seconds 20]
 *
 * What it does, all on loopback, every step bounded in time:
 *  1. creates a scratch database (migrated with `prisma migrate deploy`), seeds the catalog, and
 *     starts the app as a child process (its bundle, `node dist/main.js`, ROLES=api by default,
 *     NODE_ENV=production, LOG_LEVEL=warn, its own STREAM_PREFIX);
 *  2. for each concurrency, back to back so machine noise hits all of them alike:
 *     - pgbench with bench/createorder.pgbench.sql: the same transaction as raw SQL (order, two
 *       items, outbox row; 5 round trips) — the baseline the ratio is taken against;
 *     - pgbench with bench/createorder-mirror.pgbench.sql: the statement the app sends (one round
 *       trip, order + items + outbox as CTEs), to split the gap into "SQL" and "Node/Yoga/Prisma";
 *     - pgbench (baseline script) with the outbox NOTIFY trigger disabled: the ceiling the trigger
 *       costs (informational; the trigger is re-enabled before the app runs again);
 *     - the app, driven by bench/createorder-loadgen.ts in its own process: N keep-alive
 *       connections, one request in flight each (closed loop, like pgbench's clients);
 *     each run gets a warm-up (excluded) and a CHECKPOINT before it; CPU use of each process is
 *     sampled from /proc over the measured window;
 *  3. checks that every order the load generator got a 200 for is in the database with its
 *     outbox row, prints the tables, stops the app, drops the database and deletes the keys.
 *
 * ROLES=api (default): the baselines do only the write, so the app does only the write too; a relay
 * in the same process would compete for the same 2 cores and blur what is measured. `--e2e` adds
 * one run with ROLES=api,relay at the middle concurrency (orders/s while the relay drains in step).
 *
 * --profile: runs only the app, under `node --cpu-prof`, at one concurrency, and prints the top
 * self-time functions of the measured window (bench/cpuprofile-summary.ts). The .cpuprofile is
 * written to a temporary directory and its path printed (never into the repo).
 */
import { fork, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { seed } from "../prisma/seed.ts";
import { createScratch, log, ROOT, type Scratch } from "./lib/scratch.ts";
import { machineInfo, printMachine } from "./lib/machine.ts";
import { backendPids, CpuWindow, settle } from "./lib/cpu.ts";
import { fmt, ratio, table } from "./lib/table.ts";
import { summarizeProfile, printProfileSummary } from "./cpuprofile-summary.ts";
import { startApp, sleep, type AppChild } from "./lib/app.ts";
import { adminToken } from "./lib/auth.ts";
import { readArgs } from "./lib/args.ts";
import type { LoadgenArgs, LoadgenMessage, LoadgenResult } from "./createorder-loadgen.ts";

interface Options {
  seconds: number;
  warmup: number;
  concurrency: number[];
  pool: number;
  roles: string;
  mirror: boolean;
  notifyBaseline: boolean;
  e2e: boolean;
  profile: boolean;
  /** api processes the load is spread over (as behind a load balancer); the pool is split among them. */
  replicas: number;
}

export interface RunResult {
  label: string;
  concurrency: number;
  tps: number;
  p50: number;
  p99: number;
  mean: number;
  errors: number;
  cpu: Record<string, number>;
}

const SKUS = Array.from({ length: 20 }, (_, i) => `SKU-${String(i + 1).padStart(3, "0")}`);

export async function createorderBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const scratch = await createScratch("createorder");
  const admin = new pg.Client({ connectionString: scratch.databaseUrl, application_name: "bench-admin" });
  let apps: AppChild[] = [];
  try {
    await admin.connect();
    printMachine(await machineInfo(scratch.databaseUrl, scratch.redisUrl));
    await seed(scratch.databaseUrl);
    log(`catalog seeded (${SKUS.length} skus)`);

    if (o.profile) {
      await profileRun(o, scratch, admin);
      return;
    }

    apps = await startReplicas(scratch, o.roles, o);
    const label = `app (${o.roles}${o.replicas > 1 ? ` ×${o.replicas}` : ""})`;
    const results: RunResult[] = [];
    let appOk = 0;
    let appErrors = 0;
    for (const c of o.concurrency) {
      log(`── concurrency ${c} ──`);
      results.push(
        await retried("pgbench", c, () => pgbenchRun("pgbench", "createorder.pgbench.sql", c, o, scratch, admin)),
      );
      if (o.mirror)
        results.push(
          await retried("pgbench mirror", c, () =>
            pgbenchRun("pgbench mirror", "createorder-mirror.pgbench.sql", c, o, scratch, admin),
          ),
        );
      if (o.notifyBaseline) {
        await admin.query(`ALTER TABLE outbox DISABLE TRIGGER outbox_notify_after_insert`);
        try {
          results.push(
            await retried("pgbench, no NOTIFY", c, () =>
              pgbenchRun("pgbench, no NOTIFY", "createorder.pgbench.sql", c, o, scratch, admin),
            ),
          );
        } finally {
          await admin.query(`ALTER TABLE outbox ENABLE TRIGGER outbox_notify_after_insert`);
        }
      }
      const { run, totalOk, totalErrors } = await appRun(label, apps, c, o, scratch, admin);
      results.push(run);
      appOk += totalOk;
      appErrors += totalErrors;
    }
    await verifyOrders(admin, appOk, appErrors);

    if (o.e2e) {
      await Promise.all(apps.map((a) => a.stop()));
      apps = await startReplicas(scratch, "api,relay", o);
      const c = o.concurrency[Math.floor(o.concurrency.length / 2)]!;
      log(`── end to end: ROLES=api,relay, concurrency ${c} ──`);
      const { run } = await appRun("app (api,relay)", apps, c, o, scratch, admin);
      const backlog = await waitOutboxDrained(admin, 30_000);
      results.push({ ...run, label: `app (api,relay), outbox left ${backlog}` });
    }

    console.log(
      `\ncreateorder — ${o.seconds} s measured per run after ${o.warmup} s warm-up, DATABASE_POOL_SIZE=${o.pool}${o.replicas > 1 ? ` split over ${o.replicas} api processes` : ""}, ROLES=${o.roles}\n`,
    );
    console.log(createorderTable(results));
    console.log();
  } finally {
    await Promise.all(apps.map((a) => a.stop().catch(() => {})));
    await admin.end().catch(() => {});
    await scratch.cleanup();
  }
}

export function createorderTable(results: RunResult[]): string {
  const base = (c: number) => results.find((r) => r.label === "pgbench" && r.concurrency === c);
  return table(
    [
      "run",
      "conc.",
      "tx/s",
      "ratio",
      "p50 ms",
      "p99 ms",
      "errors",
      "cores: app·loadgen / pgbench",
      "cores: postgres",
      "cores: machine",
      "cores: other",
    ],
    results.map((r) => [
      r.label,
      r.concurrency,
      fmt(r.tps),
      ratio(r.tps, base(r.concurrency)?.tps ?? NaN),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      r.errors,
      r.cpu.app !== undefined ? `${fmt(r.cpu.app, 2)} · ${fmt(r.cpu.loadgen ?? NaN, 2)}` : fmt(r.cpu.pgbench ?? NaN, 2),
      fmt(r.cpu.postgres ?? NaN, 2),
      fmt(r.cpu.machine ?? NaN, 2),
      fmt(other(r.cpu), 2),
    ]),
  );
}

/** Machine CPU not used by the processes we watch: Postgres' own background work, and anything else running. */
function other(cpu: Record<string, number>): number {
  const ours = Object.entries(cpu)
    .filter(([k]) => k !== "machine")
    .reduce((sum, [, v]) => sum + v, 0);
  return (cpu.machine ?? NaN) - ours;
}

// ── the app ─────────────────────────────────────────────────────────────────────────────────────

/** `--replicas` app processes sharing the connection budget: each gets its share of `--pool`. */
function startReplicas(scratch: Scratch, roles: string, o: Options): Promise<AppChild[]> {
  return Promise.all(
    Array.from({ length: o.replicas }, () => startApp(scratch, roles, Math.ceil(o.pool / o.replicas))),
  );
}

async function appRun(label: string, apps: AppChild[], c: number, o: Options, scratch: Scratch, admin: pg.Client) {
  await admin.query("CHECKPOINT");
  await settle(`${label} c=${c}`);
  const loadgen = fork(path.join(ROOT, "bench/createorder-loadgen.ts"), [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const args: LoadgenArgs = {
    urls: apps.map((a) => a.url),
    concurrency: c,
    warmupSeconds: o.warmup,
    seconds: o.seconds,
    maxRequests: 2_000_000,
    customers: 10_000,
    skus: SKUS,
    authorization: `Bearer ${await adminToken()}`,
  };
  let cpu: CpuWindow | undefined;
  const result = await new Promise<LoadgenResult>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        loadgen.kill("SIGKILL");
        reject(new Error("load generator did not finish in time"));
      },
      (o.warmup + o.seconds + 30) * 1000,
    );
    loadgen.on("message", (m: LoadgenMessage) => {
      if (m.kind === "progress") {
        if (m.phase === "measure" && m.second === 1 && !cpu) {
          // The window starts ~1 s into measuring (the pool has opened its connections by then);
          // close enough for "cores used", and never in warm-up.
          void backendPids(admin, scratch.database).then((backends) => {
            cpu = new CpuWindow(() => ({
              app: apps.map((a) => a.child.pid!),
              loadgen: [loadgen.pid!],
              postgres: backends,
            }));
          });
        }
        log(
          `  ${label} c=${c} ${m.phase} ${m.second}s: ${m.phase === "measure" ? `${m.ok} ok, ${m.errors} errors` : `${m.total} done`}`,
        );
      } else {
        clearTimeout(timer);
        resolve(m.result);
      }
    });
    loadgen.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`load generator exited with ${code}`));
    });
    loadgen.send(args);
  });
  const used = cpu?.finish() ?? { machine: NaN };
  if (result.errors) log(`  ${label}: ${result.errors} errors, e.g. ${result.errorSamples.join(" | ")}`);
  log(
    `  ${label} c=${c}: ${fmt(result.rps)} orders/s, p50 ${fmt(result.p50, 1)} ms, p99 ${fmt(result.p99, 1)} ms, ${result.errors} errors`,
  );
  return {
    run: {
      label,
      concurrency: c,
      tps: result.rps,
      p50: result.p50,
      p99: result.p99,
      mean: result.mean,
      errors: result.errors,
      cpu: used,
    } satisfies RunResult,
    totalOk: result.totalOk,
    totalErrors: result.totalErrors,
  };
}

// ── pgbench ─────────────────────────────────────────────────────────────────────────────────────

async function pgbenchRun(
  label: string,
  script: string,
  c: number,
  o: Options,
  scratch: Scratch,
  admin: pg.Client,
): Promise<RunResult> {
  await admin.query("CHECKPOINT");
  await settle(`${label} c=${c}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-pgbench-"));
  const url = new URL(scratch.databaseUrl);
  const total = o.warmup + o.seconds;
  try {
    const child = spawn(
      pgbenchBinary(),
      [
        "-h",
        url.hostname,
        "-p",
        url.port || "5432",
        "-U",
        decodeURIComponent(url.username || "postgres"),
        "-n",
        "-M",
        "extended",
        "-f",
        path.join(ROOT, "bench", script),
        "-c",
        String(c),
        "-j",
        String(Math.min(c, os.cpus().length)),
        "-T",
        String(total),
        "--progress",
        "1",
        "--log",
        "--log-prefix",
        path.join(dir, "tx"),
        scratch.database,
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    let cpu: CpuWindow | undefined;
    const warm = setTimeout(async () => {
      const backends = await backendPids(admin, scratch.database);
      cpu = new CpuWindow(() => ({ pgbench: [child.pid!], postgres: backends }));
    }, o.warmup * 1000);
    let used: (Record<string, number> & { machine: number }) | undefined;
    const done = setTimeout(() => (used = cpu?.finish()), (total - 0.5) * 1000);
    child.stderr!.on("data", (d: Buffer) => {
      const text = d.toString();
      stderr += text;
      for (const line of text.split("\n")) if (line.startsWith("progress:")) log(`  ${label} c=${c} ${line.trim()}`);
    });
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), (total + 30) * 1000);
      child.once("exit", (code) => {
        clearTimeout(kill);
        resolve(code);
      });
    });
    clearTimeout(warm);
    clearTimeout(done);
    if (code !== 0) throw new Error(`pgbench exited with ${code}:\n${stderr.slice(-2000)}\n${stdout.slice(-2000)}`);

    // Per-transaction log: client_id tx_no latency_us script_no epoch_s epoch_us. Keep the measured window.
    const lat: number[] = [];
    const ends: number[] = [];
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
        const f = line.split(" ");
        if (f.length < 6) continue;
        lat.push(Number(f[2]) / 1000);
        ends.push(Number(f[4]) + Number(f[5]) / 1e6);
      }
    }
    const first = Math.min(...ends.map((e, i) => e - lat[i]! / 1000));
    const from = first + o.warmup;
    const to = Math.max(...ends);
    const window = lat.filter((_, i) => ends[i]! > from).sort((a, b) => a - b);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    const pct = (p: number) => window[Math.min(window.length - 1, Math.floor((p / 100) * window.length))] ?? NaN;
    const run: RunResult = {
      label,
      concurrency: c,
      tps: window.length / (to - from),
      p50: pct(50),
      p99: pct(99),
      mean: window.reduce((a, b) => a + b, 0) / window.length,
      errors: failed,
      cpu: used ?? { machine: NaN },
    };
    log(
      `  ${label} c=${c}: ${fmt(run.tps)} tx/s, p50 ${fmt(run.p50, 1)} ms, p99 ${fmt(run.p99, 1)} ms, ${failed} failed`,
    );
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function pgbenchBinary(): string {
  for (const candidate of ["/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"]) {
    try {
      readFileSync(candidate, { flag: "r" }).subarray(0, 0);
      return candidate;
    } catch {
      /* next */
    }
  }
  return "pgbench";
}

// ── profile ─────────────────────────────────────────────────────────────────────────────────────

async function profileRun(o: Options, scratch: Scratch, admin: pg.Client): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-cpuprof-"));
  const app = await startApp(scratch, o.roles, o.pool, ["--cpu-prof", "--cpu-prof-dir", dir]);
  const c = o.concurrency[0]!;
  // hrtime and V8's profiler clock are both CLOCK_MONOTONIC: the window cuts start-up out of the profile.
  const fromUs = Number(process.hrtime.bigint() / 1000n) + o.warmup * 1e6;
  const { run } = await appRun(`app (${o.roles}, --cpu-prof)`, [app], c, o, scratch, admin);
  const toUs = Number(process.hrtime.bigint() / 1000n);
  await app.stop();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  const profilePath = path.join(dir, file);
  console.log(
    `\ncreateorder under --cpu-prof: ${fmt(run.tps)} orders/s at concurrency ${c} (p50 ${fmt(run.p50, 1)} ms, p99 ${fmt(run.p99, 1)} ms)`,
  );
  console.log(`profile: ${profilePath} (not in the repo; open it in Chrome DevTools or VS Code)\n`);
  printProfileSummary(summarizeProfile(JSON.parse(readFileSync(profilePath, "utf8")), { fromUs, toUs }), 30);
}

/**
 * pgbench needs `c` connections on a server other test runs share (max_connections=100): when it
 * cannot get them, wait and try once more, then record the run as failed and go on.
 */
async function retried(label: string, c: number, run: () => Promise<RunResult>): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const why =
        String((err as Error).message)
          .split("\n")
          .find((l) => /error/i.test(l)) ?? String(err);
      if (attempt >= 2) {
        log(`  ${label} c=${c} failed twice, recorded as failed: ${why.slice(0, 200)}`);
        return {
          label: `${label} (failed: ${why.slice(0, 60)})`,
          concurrency: c,
          tps: NaN,
          p50: NaN,
          p99: NaN,
          mean: NaN,
          errors: NaN,
          cpu: { machine: NaN },
        };
      }
      log(`  ${label} c=${c} failed (${why.slice(0, 200)}); retrying in 10 s`);
      await sleep(10_000);
    }
  }
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Every order the load generator got a 200 for exists, with two items and its outbox event, and no
 * more (at most the requests that failed on the client side may have committed). The app's order ids
 * are UUID v7, pgbench's are v4 (gen_random_uuid), so the app's orders can be counted apart.
 */
async function verifyOrders(admin: pg.Client, answered: number, failed: number): Promise<void> {
  const { rows } = await admin.query<{ orders: string; events: string; items: string; app: string }>(
    `SELECT (SELECT count(*) FROM orders) AS orders,
            (SELECT count(*) FROM outbox WHERE event_type = 'OrderCreated') AS events,
            (SELECT count(*) FROM order_items) AS items,
            (SELECT count(*) FROM orders WHERE substr(id::text, 15, 1) = '7') AS app`,
  );
  const r = rows[0]!;
  const orders = Number(r.orders);
  const app = Number(r.app);
  const ok =
    orders === Number(r.events) && Number(r.items) === 2 * orders && app >= answered && app <= answered + failed;
  log(
    `check: ${orders} orders (${app} from the app, which answered ${answered} with 200 and ${failed} otherwise), ` +
      `${r.events} OrderCreated outbox rows, ${r.items} items — ${ok ? "consistent" : "INCONSISTENT"}`,
  );
  if (!ok) throw new Error("orders, items and outbox rows do not match what the app answered");
}

async function waitOutboxDrained(admin: pg.Client, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = Number((await admin.query<{ n: string }>("SELECT count(*) AS n FROM outbox")).rows[0]!.n);
    if (left === 0 || Date.now() > deadline) return left;
    await sleep(250);
  }
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    seconds: 10,
    warmup: 3,
    concurrency: [8, 32, 64],
    pool: 16,
    roles: "api",
    mirror: true,
    notifyBaseline: true,
    e2e: false,
    profile: false,
    replicas: 1,
  };
  readArgs(argv, (a, arg) => {
    if (a === "--seconds") o.seconds = arg.number(1, 120);
    else if (a === "--warmup") o.warmup = arg.number(0, 60);
    else if (a === "--concurrency") o.concurrency = arg.list(1, 256);
    else if (a === "--pool") o.pool = arg.number(1, 80);
    else if (a === "--roles") o.roles = arg.value();
    else if (a === "--no-mirror") o.mirror = false;
    else if (a === "--no-notify-baseline") o.notifyBaseline = false;
    else if (a === "--e2e") o.e2e = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--replicas") o.replicas = arg.number(1, 8);
    else return false;
    return true;
  });
  if (o.profile && !argv.includes("--concurrency")) o.concurrency = [32];
  return o;
}
