import type { Decoded, InTransaction, Middleware } from "../message.ts";

/**
 * Dedupe by event id, per consumer group: the inbox row is inserted first in the transaction, and
 * an event already recorded is a `duplicate` (the rest of the chain does not run). A concurrent
 * duplicate waits on the row's key, then sees the conflict.
 */
export function inbox<M extends InTransaction<Decoded>>(group: string): Middleware<M> {
  return (next) => async (msg) => {
    const fresh = await msg.tx
      .$executeRaw`INSERT INTO processed_events (consumer, event_id) VALUES (${group}, ${msg.envelope.eventId}::uuid) ON CONFLICT DO NOTHING`;
    return fresh === 0 ? "duplicate" : next(msg);
  };
}
