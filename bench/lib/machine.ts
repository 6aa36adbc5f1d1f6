/**
 * Machine facts printed with every benchmark (and copied into BENCHMARKS.md): cores, CPU model,
 * memory, kernel, Node, Postgres (with the settings that decide commit cost) and Redis versions,
 * plus the load average before the run, so a busy machine shows up next to its numbers.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { Redis } from "ioredis";

export interface MachineInfo {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  postgresSettings: string;
  redis: string;
  redisPersistence: string;
  loadAvg: string;
}

export async function machineInfo(databaseUrl: string, redisUrl: string): Promise<MachineInfo> {
  const cpuinfo = safeRead("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let postgres = "unknown";
  let postgresSettings = "";
  try {
    postgres =
      (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "unknown";
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings
       WHERE name IN ('fsync','synchronous_commit','shared_buffers','max_connections','wal_level')
       ORDER BY name`,
    );
    postgresSettings = rows
      .map((r) => `${r.name}=${r.setting}${r.unit && r.unit !== "" ? ` (${r.unit})` : ""}`)
      .join(", ");
  } finally {
    await client.end();
  }

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisVersion = "unknown";
  let redisPersistence = "";
  try {
    await redis.connect();
    const info = await redis.info("server");
    redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
    const aof = (await redis.config("GET", "appendonly")) as string[];
    const save = (await redis.config("GET", "save")) as string[];
    redisPersistence = `appendonly=${aof[1] ?? "?"}, save="${save[1] ?? ""}"`;
  } finally {
    redis.disconnect();
  }

  return {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    cpuModel: mhz ? `${model} (${Math.round(Number(mhz))} MHz)` : model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres,
    postgresSettings,
    redis: redisVersion,
    redisPersistence,
    loadAvg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}

export function printMachine(m: MachineInfo): void {
  console.log("Machine");
  for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(17)} ${v}`);
  console.log();
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
