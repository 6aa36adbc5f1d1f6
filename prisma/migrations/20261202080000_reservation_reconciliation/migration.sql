-- Reconciliation of orphan reservations (issue 17): inventory records when it learned an order is
-- confirmed, and when it last asked the orders module about a reservation it holds.
ALTER TABLE "reservations" ADD COLUMN "verified_at" TIMESTAMPTZ(3),
ADD COLUMN "checked_at" TIMESTAMPTZ(3);

-- Reservations held before this release belong to orders that settled long ago, or are checked once.
CREATE INDEX "reservations_status_verified_at_updated_at_idx" ON "reservations"("status", "verified_at", "updated_at");
