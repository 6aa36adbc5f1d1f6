import { createHash } from "node:crypto";
import { z } from "zod";
import type { SqlTx } from "../infra/sql-transaction.ts";
import { sql, empty, type Sql } from "../../generated/prisma/internal/prismaNamespace.ts";
import { AppError, badInput } from "../shared/errors.ts";

export const idempotencyKeySchema = z
  .string()
  .min(1, "must not be empty")
  .max(128, "must be at most 128 characters")
  .regex(/^[A-Za-z0-9_.:-]+$/, "may contain only letters, digits and _ . : -");

/** An idempotency key and whose key space it is in. */
export interface IdempotencyOption {
  /** The caller's principal key (issuer, roles, subject: auth/principal.ts), so one client can never replay another's key. */
  scope: string;
  key: string;
}

export interface IdempotentOperation {
  operation: "createOrder" | "cancelOrder";
  /** The resolved input (after defaults): what "the same request" means. */
  input: unknown;
}

export function parseIdempotencyKey(raw: string | null | undefined, field = "idempotencyKey"): string | undefined {
  if (raw == null) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) throw badInput(field, parsed.error.issues[0]!.message);
  return parsed.data;
}

/** Stable across key order, so `{a,b}` and `{b,a}` are the same request. */
export function requestHash(operation: string, input: unknown): string {
  return createHash("sha256").update(operation).update("\0").update(canonicalJson(input)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/** One use of a key: whose, which operation, and the hash of its input. */
export interface KeyedRequest extends IdempotencyOption {
  operation: IdempotentOperation["operation"];
  hash: string;
}

export function keyedRequest(idempotency: IdempotencyOption, what: IdempotentOperation): KeyedRequest {
  return { ...idempotency, operation: what.operation, hash: requestHash(what.operation, what.input) };
}

/**
 * The one way a key is taken: `INSERT … ON CONFLICT DO NOTHING RETURNING 1` — a row back means
 * this request owns the key. A concurrent request with the same key blocks on the primary key until
 * the owner's transaction ends, then gets no row (committed) or the key (rolled back). Runs as its
 * own statement (runOnce) or as a CTE of a larger one (createOrder), where `onlyIf` (a condition on
 * the other CTEs) and `resultId` (known up front) let one statement claim the key and write the effect.
 */
export function claimKey(request: KeyedRequest, resultId?: string, onlyIf?: Sql): Sql {
  return sql`INSERT INTO idempotency_keys (scope, key, operation, request_hash, result_id)
    SELECT ${request.scope}, ${request.key}, ${request.operation}, ${request.hash}, ${resultId ?? null} ${onlyIf ? sql`WHERE ${onlyIf}` : empty}
    ON CONFLICT (scope, key) DO NOTHING RETURNING 1`;
}

/**
 * Runs `effect` at most once per (scope, key), inside the caller's transaction; without a key it
 * just runs it. The key is claimed first (see claimKey): a concurrent duplicate waits, then returns
 * the first result — or runs itself if the first rolled back. Same key, different input → CONFLICT.
 */
export async function runOnce(
  tx: SqlTx,
  idempotency: IdempotencyOption | undefined,
  what: IdempotentOperation,
  effect: () => Promise<string>,
): Promise<{ resultId: string; replayed: boolean }> {
  if (!idempotency) return { resultId: await effect(), replayed: false };
  const request = keyedRequest(idempotency, what);
  const inserted = await tx.$queryRaw<unknown[]>(claimKey(request));
  if (inserted.length === 1) {
    const resultId = await effect();
    await tx.$executeRaw`UPDATE idempotency_keys SET result_id = ${resultId} WHERE scope = ${request.scope} AND key = ${request.key}`;
    return { resultId, replayed: false };
  }
  return { resultId: await firstResult(tx, request), replayed: true };
}

/** The result of the request that used this key first (committed); CONFLICT if it was other input. */
export async function firstResult(db: Pick<SqlTx, "$queryRaw">, request: KeyedRequest): Promise<string> {
  const [first] = await db.$queryRaw<{ operation: string; requestHash: string; resultId: string | null }[]>`
    SELECT operation, request_hash AS "requestHash", result_id AS "resultId"
    FROM idempotency_keys WHERE scope = ${request.scope} AND key = ${request.key}`;
  if (!first?.resultId || first.operation !== request.operation || first.requestHash !== request.hash) {
    throw new AppError("CONFLICT", `idempotency key "${request.key}" was already used for a different request`, {
      field: "idempotencyKey",
    });
  }
  return first.resultId;
}
