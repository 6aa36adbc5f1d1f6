import type { StreamEntry } from "../events/stream-entry.ts";
import { compareIds } from "../events/stream-ids.ts";
import { Fifo } from "../shared/fifo.ts";
import type { LiveEvent } from "./hub.ts";

/** One entry the hub dispatched: where the hub stood right after it, and its LiveEvent once built. */
export interface CachedEntry {
  entry: StreamEntry;
  partition: number;
  /** The hub's position (one entry id per partition) once this entry was dispatched: its cursor. */
  position: readonly string[];
  /** Built on first use; null when the envelope is invalid (never delivered). */
  event?: LiveEvent | null;
}

/**
 * The last `capacity` entries the hub dispatched (copies excluded), in dispatch order and indexed by
 * routing key like the hub's subscribers. A resume from a recent cursor — every client after a
 * deploy or a dropped connection — is served from here: no stream read, no entry decoded or
 * envelope parsed again, and only the subscriber's own key is scanned. Older cursors are left to
 * the hub's replay passes over the stream.
 */
export class ReplayCache {
  private readonly all = new Fifo<CachedEntry>();
  private readonly byKey = new Map<string, Fifo<CachedEntry>>();
  /** Per partition: every dispatched entry after this id is held; null until the hub pinned the partition. */
  private readonly heldAfter: (string | null)[];

  constructor(
    readonly capacity: number,
    private readonly partitions: number,
  ) {
    this.heldAfter = Array.from({ length: partitions }, () => null);
  }

  get size(): number {
    return this.all.length;
  }

  /**
   * The hub has pinned the partition's end after adding the newest entries of its tail (`oldestRead`
   * the oldest it read; `wholeStream` when that was every entry). From then on the partition counts
   * as held after that point, or after whatever the seeding itself already evicted.
   */
  pinned(partition: number, oldestRead: string | undefined, wholeStream: boolean): void {
    this.heldAfter[partition] ??= wholeStream || oldestRead === undefined ? "0-0" : oldestRead;
  }

  /** Records a dispatched entry (in dispatch order) and returns its record; the oldest is forgotten beyond capacity. */
  add(entry: StreamEntry, partition: number, position: readonly string[]): CachedEntry {
    const cached: CachedEntry = { entry, partition, position };
    if (this.capacity === 0) return cached;
    this.all.push(cached);
    for (const key of new Set(entry.keys)) {
      let list = this.byKey.get(key);
      if (!list) this.byKey.set(key, (list = new Fifo()));
      list.push(cached);
    }
    if (this.all.length > this.capacity) this.evictOldest();
    return cached;
  }

  /** True when every entry after `after` (one id per partition) is held here. */
  covers(after: readonly string[]): boolean {
    if (this.capacity === 0) return false;
    return this.heldAfter.every((from, p) => from !== null && compareIds(after[p]!, from) >= 0);
  }

  /**
   * The held entries after `after` carrying `indexKey` (all entries when undefined), oldest first.
   * Scans back from the newest only until every partition is at or behind the cursor.
   */
  since(after: readonly string[], indexKey: string | undefined): CachedEntry[] {
    const list = indexKey === undefined ? this.all : this.byKey.get(indexKey);
    if (!list) return [];
    const found: CachedEntry[] = [];
    const behind = new Array<boolean>(this.partitions).fill(false);
    let partitionsBehind = 0;
    for (let i = list.length - 1; i >= 0 && partitionsBehind < this.partitions; i--) {
      const cached = list.at(i);
      if (compareIds(cached.entry.id, after[cached.partition]!) > 0) found.push(cached);
      else if (!behind[cached.partition]) {
        behind[cached.partition] = true;
        partitionsBehind++;
      }
    }
    return found.reverse();
  }

  private evictOldest(): void {
    const oldest = this.all.shift()!;
    // Entries of a partition are held in id order: everything after the evicted one is still here.
    this.heldAfter[oldest.partition] = oldest.entry.id;
    for (const key of new Set(oldest.entry.keys)) {
      const list = this.byKey.get(key)!;
      list.shift(); // lists are in dispatch order: the evicted entry is at the head of each of its keys
      if (list.length === 0) this.byKey.delete(key);
    }
  }
}
