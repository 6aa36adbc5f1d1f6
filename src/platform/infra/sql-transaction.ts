import type pg from "pg";
import { sql, type Sql } from "../../generated/prisma/internal/prismaNamespace.ts";

/**
 * The one write-transaction type: every mutation, event handler, outbox append and idempotency key
 * goes through it, as Prisma `sql` templates. Two implementations: Prisma's interactive
 * transaction (`Database.transaction`, the mutations) and {@link inTransaction} on node-postgres
 * (the consumers' hot path, measured below). Reads for GraphQL go through Prisma's models.
 */
export interface SqlTx {
  $queryRaw<T = unknown>(query: TemplateStringsArray | Sql, ...values: unknown[]): Promise<T>;
  $executeRaw(query: TemplateStringsArray | Sql, ...values: unknown[]): Promise<number>;
}

/**
 * Runs `work` in one transaction on a pooled connection: BEGIN, its statements, COMMIT (ROLLBACK
 * when it throws). The consumers' hot path: measured on this machine, a statement inside a Prisma
 * interactive transaction costs ~1 ms of CPU against ~0.3 ms straight through node-postgres, and a
 * consumer transaction has six or seven of them (BENCHMARKS.md, saga).
 */
export async function inTransaction<T>(pool: pg.Pool, work: (tx: SqlTx) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(transactionClient(client));
    await client.query("COMMIT");
    return result;
  } catch (err) {
    // A connection that cannot even roll back is discarded by the pool rather than reused.
    await client.query("ROLLBACK").catch((rollbackFailed: Error) => (broken = rollbackFailed));
    throw err;
  } finally {
    client.release(broken);
  }
}

function transactionClient(client: pg.PoolClient): SqlTx {
  const statement = (query: TemplateStringsArray | Sql, values: unknown[]): Sql =>
    isTemplate(query) ? sql(query, ...(values as never[])) : query;
  return {
    async $queryRaw<T>(query: TemplateStringsArray | Sql, ...values: unknown[]) {
      const s = statement(query, values);
      return (await client.query(s.text, s.values as unknown[])).rows as T;
    },
    async $executeRaw(query: TemplateStringsArray | Sql, ...values: unknown[]) {
      const s = statement(query, values);
      return (await client.query(s.text, s.values as unknown[])).rowCount ?? 0;
    },
  };
}

const isTemplate = (query: TemplateStringsArray | Sql): query is TemplateStringsArray =>
  Array.isArray(query) && "raw" in query;
