/**
 * Outbox lanes: an aggregate's events always land in the same lane, and a relay publishes a lane
 * only while it holds that lane's lock, so each aggregate's events reach the stream in order even
 * with several relays. The count is part of the data: rows already written keep their lane.
 */
export const OUTBOX_LANES = 16;

/** FNV-1a, 32-bit: stable across processes and versions (unlike a language's built-in hash). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const laneOf = (aggregateId: string) => fnv1a(aggregateId) % OUTBOX_LANES;
