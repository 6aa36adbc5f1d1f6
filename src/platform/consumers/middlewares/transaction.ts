import type pg from "pg";
import { inTransaction } from "../../infra/sql-transaction.ts";
import type { InTransaction, Message, Middleware } from "../message.ts";

/**
 * Runs the rest of the chain in one transaction on the pool (inTransaction): inbox row, handler
 * and outbox commit together or not at all. A failure rolls back and propagates. What the handler
 * asked to run after commit (msg.afterCommit) runs once the commit succeeded.
 */
export function transaction<M extends Message>(pool: pg.Pool): Middleware<M, InTransaction<M>> {
  return (next) => async (msg) => {
    msg.afterCommit = [];
    const outcome = await inTransaction(pool, (tx) => next(Object.assign(msg, { tx })));
    for (const run of msg.afterCommit) run();
    return outcome;
  };
}
