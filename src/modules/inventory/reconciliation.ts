import type { Database } from "../../platform/infra/database.ts";
import type { ModuleRuntime } from "../../platform/module.ts";
import { PeriodicRole } from "../../platform/roles.ts";
import { appendToOutbox } from "../../platform/outbox/enqueue.ts";
import { continueTrace } from "../../platform/observability/trace.ts";
import { eventCatalog } from "../../contracts/index.ts";
import { ORPHAN_RESERVATIONS_RELEASED, RESERVATION_CHECKS_REQUESTED } from "./metrics.ts";

/** Checks asked per round at most: a backlog of suspects is worked off over several rounds. */
const CHECK_BATCH = 500;

/**
 * Finds reservations still held past the grace period for an order inventory has not seen
 * confirmed, and asks the orders module about each (ReservationCheckRequested; the answer,
 * ReservationChecked, releases an orphan). A reservation is asked about at most once per grace
 * period; SKIP LOCKED lets any number of inventory replicas run this without asking twice.
 * Inventory never reads the orders module's tables: it learns order state only through events.
 */
export async function requestReservationChecks(
  db: Pick<Database, "transaction">,
  graceMs: number,
  limit = CHECK_BATCH,
): Promise<{ orderId: string; heldSeconds: number }[]> {
  return db.transaction(async (tx) => {
    const due = await tx.$queryRaw<{ orderId: string; heldSeconds: number }[]>`
      WITH due AS (
        SELECT order_id FROM reservations
        WHERE status = 'RESERVED' AND verified_at IS NULL
          AND updated_at < now() - make_interval(secs => ${graceMs / 1000}::float8)
          AND (checked_at IS NULL OR checked_at < now() - make_interval(secs => ${graceMs / 1000}::float8))
        ORDER BY updated_at LIMIT ${limit}::int FOR UPDATE SKIP LOCKED
      )
      UPDATE reservations r SET checked_at = now() FROM due WHERE r.order_id = due.order_id
      RETURNING r.order_id::text AS "orderId", extract(epoch FROM now() - r.updated_at)::float8 AS "heldSeconds"`;
    const trace = continueTrace();
    await appendToOutbox(
      tx,
      eventCatalog,
      due.map(({ orderId }) => eventCatalog.create("ReservationCheckRequested", orderId, { orderId }, { trace })),
    );
    return due;
  });
}

/** The inventory module's periodic reconciliation of orphan reservations, with a log line and a count per check. */
export function reservationReconciliation({ db, log, metrics, reconciliation }: ModuleRuntime): PeriodicRole {
  const roleLog = log.child({ role: "reservation-reconciliation" });
  const checks = metrics.counter(RESERVATION_CHECKS_REQUESTED);
  metrics.counter(ORPHAN_RESERVATIONS_RELEASED); // exported from the start (at 0), so alerts see the series' name

  return new PeriodicRole(
    "reservation reconciliation",
    reconciliation.intervalMs,
    async () => {
      for (const { orderId, heldSeconds } of await requestReservationChecks(db, reconciliation.graceMs)) {
        roleLog.info(
          { orderId, heldSeconds: Math.round(heldSeconds) },
          "reservation held past the grace period for an order not seen confirmed; asking the orders module",
        );
        checks.inc();
      }
    },
    roleLog,
  );
}
