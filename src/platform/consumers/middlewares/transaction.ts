import type pg from "pg";
import { inTransaction } from "../../infra/sql-transaction.ts";
import type { InTransaction, Message, Middleware } from "../message.ts";

/**
 * Runs the rest of the chain in one transaction on the pool (inTransaction): inbox row, handler
 * and outbox commit together or not at all. A failure rolls back and propagates.
 */
export function transaction<M extends Message>(pool: pg.Pool): Middleware<M, InTransaction<M>> {
  return (next) => (msg) => inTransaction(pool, (tx) => next(Object.assign(msg, { tx })));
}
