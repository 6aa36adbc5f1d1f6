/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per package,
 * optionally only for the samples inside a time window (CLOCK_MONOTONIC µs, the profiler's clock,
 * which is also process.hrtime's), so start-up and shutdown do not count.
 *
 *   npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top=30]
 *
 * createorder --profile calls it with the measured window. Profiles are never committed.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: { name: string; where: string; pkg: string; selfMs: number }[];
  packages: { pkg: string; selfMs: number }[];
}

/** Self time of every function (and package) in the window, busiest first. Idle time is reported apart. */
export function summarizeProfile(profile: CpuProfile, window: { fromUs?: number; toUs?: number } = {}): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = profile.startTime;
  let inWindow = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    if ((window.fromUs !== undefined && t < window.fromUs) || (window.toUs !== undefined && t > window.toUs)) continue;
    inWindow++;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + span);
  }
  // A window that misses the profile entirely (different clock) means: use everything.
  if (inWindow === 0 && (window.fromUs !== undefined || window.toUs !== undefined)) return summarizeProfile(profile);

  const functions = new Map<string, { name: string; where: string; pkg: string; selfMs: number }>();
  const packages = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const ms = us / 1000;
    totalMs += ms;
    if (frame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    const pkg = packageOf(frame);
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
    const name = frame.functionName || "(anonymous)";
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, pkg, selfMs: 0 };
    entry.selfMs += ms;
    functions.set(key, entry);
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
  }
  return {
    totalMs,
    idleMs,
    functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs),
    packages: [...packages].map(([pkg, selfMs]) => ({ pkg, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function printProfileSummary(s: ProfileSummary, top = 30): void {
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1)}%`;
  console.log(
    `profile window: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (${((100 * busy) / s.totalMs).toFixed(0)}% of one core), ${(s.idleMs / 1000).toFixed(1)} s idle\n`,
  );
  console.log("self time by package (share of busy time)");
  for (const p of s.packages.slice(0, 20)) console.log(`  ${pct(p.selfMs).padStart(6)}  ${p.pkg}`);
  console.log(`\ntop ${top} functions by self time (share of busy time)`);
  for (const f of s.functions.slice(0, top)) console.log(`  ${pct(f.selfMs).padStart(6)}  ${f.name}  ${f.where}`);
  console.log();
}

function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native / V8 builtins)";
  if (url.startsWith("node:")) return "node: core";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.includes("/src/generated/")) return "app: src/generated (Prisma client)";
  if (url.includes("/src/")) return "app: src";
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + "/node_modules/".length);
  const src = url.indexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, "");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top]");
    process.exit(2);
  }
  printProfileSummary(
    summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile),
    Number(process.argv[3] ?? 30),
  );
}
