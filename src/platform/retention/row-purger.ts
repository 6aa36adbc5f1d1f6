import type { Pool } from "pg";
import type { Logger } from "../observability/logger.ts";
import { PeriodicRole } from "../roles.ts";

/** A table whose rows are only needed for a while after they were written. */
export interface ExpiringRows {
  /** Named in code, never from input (interpolated into the statement). */
  table: "idempotency_keys" | "processed_events";
  /** When the row was written (timestamptz). */
  writtenAt: "created_at" | "processed_at";
  /** What the rows are, for the role's name and its log line. */
  what: string;
}

export interface RowPurgeOptions extends ExpiringRows {
  pool: Pool;
  log: Logger;
  /** Rows older than this are deleted. */
  ttlMs: number;
  intervalMs: number;
}

const BATCH = 1_000;

/** Deletes a table's rows past their lifetime, in batches of 1,000 (no long locks). Runs in the relay role. */
export class RowPurger extends PeriodicRole {
  constructor(private readonly o: RowPurgeOptions) {
    super(`${o.what} purger`, o.intervalMs, () => this.purge(), o.log);
  }

  /** Returns how many rows were deleted. */
  async purge(): Promise<number> {
    const { table, writtenAt } = this.o;
    let total = 0;
    for (;;) {
      const { rowCount } = await this.o.pool.query(
        `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM ${table} WHERE ${writtenAt} < now() - make_interval(secs => $1) LIMIT ${BATCH}))`,
        [this.o.ttlMs / 1000],
      );
      total += rowCount ?? 0;
      if (!rowCount || rowCount < BATCH) break;
    }
    if (total) this.o.log.info({ deleted: total, table }, `expired ${this.o.what} purged`);
    return total;
  }
}

/** Idempotency keys: a retry after their lifetime places a new order. */
export const IDEMPOTENCY_KEYS: ExpiringRows = {
  table: "idempotency_keys",
  writtenAt: "created_at",
  what: "idempotency keys",
};

/**
 * The consumers' inbox (one row per event and group handled): a row is needed while its event can
 * still reach the group again — a pending entry reclaimed, a relay's copy, a group rewound while
 * the entry is in the stream. INBOX_RETENTION_MS is at least the stream's retention.
 */
export const INBOX_ROWS: ExpiringRows = { table: "processed_events", writtenAt: "processed_at", what: "inbox rows" };
