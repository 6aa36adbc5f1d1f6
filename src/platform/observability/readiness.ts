import { readdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { withDeadline } from "../shared/deadline.ts";
import { projectRoot } from "../shared/project-root.ts";

/** A loop the role depends on (relay loop, consumer loop, live hub reader). */
export interface LoopProbe {
  name: string;
  readonly running: boolean;
}

export interface ReadinessDeps {
  pool: pg.Pool;
  redis: { ping(): Promise<string> };
  loops: () => LoopProbe[];
  /** Folder of Prisma migrations (one directory per migration); defaults to prisma/migrations of this checkout. */
  migrationsDir?: string;
  timeoutMs?: number;
}

export type CheckName = "postgres" | "redis" | "migrations" | "loops";
export type CheckResults = Record<CheckName, string>;

/** Thrown by a readiness probe: `checks` says "ok" or what failed, per check; the message names the failures. */
export class NotReadyError extends Error {
  override name = "NotReadyError";
  constructor(readonly checks: CheckResults) {
    super(
      Object.entries(checks)
        .filter(([, v]) => v !== "ok")
        .map(([k, v]) => `${k}: ${v}`)
        .join("; "),
    );
  }
}

export const DEFAULT_MIGRATIONS_DIR = join(projectRoot, "prisma/migrations");

/** The migration names the code expects: the folder names under prisma/migrations. */
export function expectedMigrations(dir = DEFAULT_MIGRATIONS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d+_/.test(d.name))
    .map((d) => d.name)
    .sort();
}

/**
 * /ready: Postgres and Redis answer, every migration this code ships is applied, and the role's
 * loops are running. Checks run in parallel, each within its deadline; the migrations check hits the
 * database until it has passed once (migrations are never un-applied under a running process).
 */
export function createReadiness(deps: ReadinessDeps): () => Promise<CheckResults> {
  const timeoutMs = deps.timeoutMs ?? 1_000;
  let expected: string[] | undefined;
  let migrationsOk = false;

  const postgres = async () => {
    await withDeadline(timeoutMs, "postgres", deps.pool.query("SELECT 1"));
  };
  const redis = async () => {
    await withDeadline(timeoutMs, "redis", deps.redis.ping());
  };
  const migrations = async () => {
    if (migrationsOk) return;
    expected ??= expectedMigrations(deps.migrationsDir);
    const { rows } = await withDeadline(
      timeoutMs,
      "postgres (migrations)",
      deps.pool.query<{ migration_name: string }>(
        "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
      ),
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    const missing = expected.filter((m) => !applied.has(m));
    if (missing.length) throw new Error(`not applied: ${missing.join(", ")}`);
    migrationsOk = true;
  };
  const loops = async () => {
    const stopped = deps
      .loops()
      .filter((l) => !l.running)
      .map((l) => l.name);
    if (stopped.length) throw new Error(`not running: ${stopped.join(", ")}`);
  };

  return async () => {
    const names: CheckName[] = ["postgres", "redis", "migrations", "loops"];
    const outcomes = await Promise.allSettled([postgres(), redis(), migrations(), loops()]);
    const checks = Object.fromEntries(
      names.map((n, i) => [
        n,
        outcomes[i]!.status === "fulfilled" ? "ok" : errorText((outcomes[i] as PromiseRejectedResult).reason),
      ]),
    ) as CheckResults;
    if (Object.values(checks).some((v) => v !== "ok")) throw new NotReadyError(checks);
    return checks;
  };
}

/** The JSON body of a /ready answer. */
export function readyBody(result: CheckResults | Error): { ready: boolean; reason?: string; checks?: CheckResults } {
  if (result instanceof NotReadyError) return { ready: false, reason: result.message, checks: result.checks };
  if (result instanceof Error) return { ready: false, reason: result.message };
  return { ready: true, checks: result };
}

function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message || "failed";
}
