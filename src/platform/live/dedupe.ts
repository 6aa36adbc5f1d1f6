import { compareIds, nextId } from "../events/stream-ids.ts";

/**
 * The envelope's `eventId`, read from the entry's JSON without parsing it. The first `"eventId"`
 * key in the text is the envelope's own: every other top-level field is a scalar, and the only
 * nested object, `payload`, comes after it both as the relay writes it (JSON.stringify in schema
 * order) and as Postgres jsonb returns it (keys by length, then bytes). A quote inside a JSON
 * string is escaped, so string values cannot fake the match.
 */
export function eventIdOf(json: string): string | null {
  return /"eventId"\s*:\s*"([^"\\]{1,100})"/.exec(json)?.[1] ?? null;
}

/**
 * What the hub remembers of one partition for exactly-once delivery: the eventIds of the last
 * `capacity` distinct events the live reader read, each with the entry id of its first
 * occurrence, and the entry ids of the copies it found (a relay that crashed between XADD and its
 * commit publishes a batch again: same eventIds, later entry ids). Entries from `coveredFrom` on
 * are all known: for those, `isCopy` is exact.
 */
export class RecentEvents {
  private readonly first = new Map<string, string>();
  private readonly copies = new Set<string>();
  /** Every entry with an id at or after this one was seen (by the seed or the live reader). */
  coveredFrom = "0-0";

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.first.size;
  }

  /**
   * Records an entry the live reader read (in stream order); true when it is a copy of one already
   * seen, which must not be delivered.
   */
  observe(eventId: string | null, entryId: string): boolean {
    if (this.capacity === 0 || eventId === null) return false;
    const original = this.first.get(eventId);
    if (original !== undefined && compareIds(original, entryId) < 0) {
      this.copies.add(entryId);
      if (this.copies.size > this.capacity) this.copies.delete(this.copies.values().next().value!);
      return true;
    }
    if (original !== undefined) return false; // the same entry again (a re-read after a reconnect)
    this.first.set(eventId, entryId);
    if (this.first.size > this.capacity) {
      const [, evicted] = this.first.entries().next().value!;
      this.first.delete(this.first.keys().next().value!);
      this.coveredFrom = nextId(evicted);
    }
    return false;
  }

  /**
   * For an entry read from history (a replay): true when it is known to be a copy. Exact for
   * entries at or after `coveredFrom` that the live reader has passed; for others the replay keeps
   * its own memory (ReplayDedupe).
   */
  isKnownCopy(eventId: string | null, entryId: string): boolean {
    if (this.capacity === 0 || eventId === null) return false;
    if (this.copies.has(entryId)) return true;
    const original = this.first.get(eventId);
    return original !== undefined && compareIds(original, entryId) < 0;
  }

  /** True when every entry from `id` on has been seen, so isKnownCopy is exact there (up to the reader). */
  covers(id: string): boolean {
    return compareIds(id, this.coveredFrom) >= 0;
  }
}

/**
 * One replay's own memory of eventIds, for entries the partition's RecentEvents cannot judge
 * (older than its window, or not yet read live): bounded to the same capacity, oldest forgotten.
 */
export class ReplayDedupe {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(eventId: string | null): boolean {
    return eventId !== null && this.seen.has(eventId);
  }

  /** True when this eventId was seen already (a copy); otherwise remembers it. */
  seenBefore(eventId: string | null): boolean {
    if (this.capacity === 0 || eventId === null) return false;
    if (this.seen.has(eventId)) return true;
    this.seen.add(eventId);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
    return false;
  }
}
