/**
 * CPU accounting from /proc (Linux): per-process CPU time and whole-machine busy time, sampled
 * before and after a measured window. On a 2-core box the load generator, the app and Postgres
 * share the cores, so "how much CPU did each use" explains a throughput number better than the
 * number alone.
 */
import { readFileSync } from "node:fs";

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
