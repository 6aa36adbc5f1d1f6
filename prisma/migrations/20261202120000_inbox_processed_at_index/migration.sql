-- The inbox purge (RowPurger, INBOX_RETENTION_MS) finds expired rows by when they were written.
-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON "processed_events"("processed_at");
