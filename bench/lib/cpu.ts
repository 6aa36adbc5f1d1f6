/**
 * CPU accounting from /proc (Linux): per-process CPU time and whole-machine busy time, sampled
 * before and after a measured window. On a 2-core box the load generator, the app and Postgres
 * share the cores, so "how much CPU did each use" explains a throughput number better than the
 * number alone.
 */
import { readFileSync } from "node:fs";
import type pg from "pg";
import { log } from "./scratch.ts";

const TICK = 100; // USER_HZ: 100 on every Linux we run on

/** utime+stime of a process in ms (0 if it is gone). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK;
  } catch {
    return 0;
  }
}

/** The Postgres backends serving `database` (their CPU is what the app or pgbench made Postgres do). */
export async function backendPids(client: pg.Client, database: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    [database],
  );
  return rows.map((r) => r.pid);
}

/** CPU ms of every postgres backend serving `database` (what pgbench or the app made Postgres do). */
export function postgresCpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
}

/** Busy and total jiffies of the whole machine (all cores) in ms. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: ((total - idle) * 1000) / TICK, total: (total * 1000) / TICK };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Samples CPU around a window: cores used by each watched pid and by the machine. */
export class CpuWindow {
  private readonly startProc = new Map<number, number>();
  private readonly startMachine = machineCpu();
  private readonly started = performance.now();
  constructor(private readonly pids: () => Record<string, number[]>) {
    for (const list of Object.values(pids())) for (const pid of list) this.startProc.set(pid, processCpuMs(pid));
  }

  /** Cores busy per group (1.0 = one core fully used) and machine-wide, over the window. */
  finish(): Record<string, number> & { machine: number } {
    const wall = performance.now() - this.started;
    const out: Record<string, number> = {};
    for (const [name, list] of Object.entries(this.pids())) {
      const used = list.reduce((sum, pid) => sum + processCpuMs(pid) - (this.startProc.get(pid) ?? 0), 0);
      out[name] = used / wall;
    }
    const m = machineCpu();
    return { ...out, machine: (m.busy - this.startMachine.busy) / wall };
  }
}

/**
 * Waits (bounded) until the machine is quiet: less than `maxCores` busy over a 1 s sample. Other
 * work on a 2-core box (a test suite, a build) halves what a benchmark measures; waiting for it to
 * pass is cheaper than re-running. Returns the last sample, which the caller reports.
 */
export async function waitQuiet(maxCores: number, maxWaitMs: number, onWait: (busy: number) => void): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let warned = false;
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineCpu();
    const busy = (b.busy - a.busy) / 1000;
    if (busy < maxCores || Date.now() > deadline) return busy;
    if (!warned || Math.random() < 0.2) onWait(busy);
    warned = true;
  }
}

/** Before a measured run: wait up to BENCH_QUIET_WAIT_S (default 60; 0 = never) for < 0.3 busy cores. */
export async function settle(what: string): Promise<void> {
  const maxWait = Number(process.env.BENCH_QUIET_WAIT_S ?? 60) * 1000;
  if (!(maxWait > 0)) return;
  const busy = await waitQuiet(0.3, maxWait, (b) =>
    log(`  waiting for a quiet machine before ${what}: ${b.toFixed(2)} cores busy elsewhere`),
  );
  if (busy >= 0.3)
    log(`  machine still busy (${busy.toFixed(2)} cores) — measuring ${what} anyway; expect lower numbers`);
}
