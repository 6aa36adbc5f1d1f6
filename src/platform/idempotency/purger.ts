import type { Pool } from "pg";
import type { Logger } from "../observability/logger.ts";
import { PeriodicRole } from "../roles.ts";

export interface PurgeOptions {
  pool: Pool;
  log: Logger;
  /** Keys older than this are forgotten: a retry after that places a new order. */
  ttlMs: number;
  intervalMs: number;
}

/** Deletes idempotency keys past their lifetime, in small batches (no long locks). Runs beside the relay. */
export class IdempotencyKeyPurger extends PeriodicRole {
  constructor(private readonly o: PurgeOptions) {
    super("idempotency key purger", o.intervalMs, () => this.purge(), o.log);
  }

  /** Returns how many keys were deleted. */
  async purge(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.o.pool.query(
        `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1) LIMIT 1000))`,
        [this.o.ttlMs / 1000],
      );
      total += rowCount ?? 0;
      if (!rowCount || rowCount < 1000) break;
    }
    if (total) this.o.log.info({ deleted: total }, "expired idempotency keys purged");
    return total;
  }
}
