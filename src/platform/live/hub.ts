import { duplicateRedis, type RedisClient } from "../infra/redis.ts";
import type { Logger } from "../observability/logger.ts";
import { decodeEntry, type StreamEntry } from "../events/stream-entry.ts";
import type { Envelope } from "../events/envelope.ts";
import type { EventRegistry } from "../events/registry.ts";
import { parseTraceparent } from "../observability/trace.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import { SlowSubscriberError, SubscriptionQueue } from "./subscription-queue.ts";
import { eventIdOf, RecentEvents, ReplayDedupe } from "./dedupe.ts";
import { AppError, badInput } from "../shared/errors.ts";
import { compareIds } from "../events/stream-ids.ts";
import {
  trimmedThroughKey,
  partitionOf,
  covers,
  decodeCursor,
  encodeCursor,
  maxPositions,
  mergeByIdOrder,
  readGroups,
  judgeCursor,
  type PartitionState,
} from "../events/partitions.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Role } from "../roles.ts";
import { recordSpan, SpanKind } from "../observability/tracing.ts";
import { ReplayCache, type CachedEntry } from "./replay-cache.ts";

const REPLAY_PAGE = 200;
/** How long a shared replay pass waits for its members to drain before cutting off those still full. */
const PASS_ROOM_WAIT_MS = 1_000;

/** What a subscriber receives: built once per stream entry and shared by all its subscribers. */
export interface LiveEvent {
  /** Public cursor: the entry id with one partition, else `position` encoded. */
  cursor: string;
  envelope: Envelope;
  traceId: string | null;
  /** Where the entry is: its partition and entry id there. */
  partition: number;
  id: string;
  /** One entry id per partition: everything up to these was seen when this event was delivered. */
  position: readonly string[];
}

export interface LiveFilter {
  /** Routing keys that must all be on the entry, e.g. ["order:<id>", "customer:<id>"]. */
  keys: string[];
  /** Event types wanted; empty = all. */
  types?: readonly string[];
}

interface Subscriber {
  filter: LiveFilter;
  queue: SubscriptionQueue<LiveEvent>;
}

export interface HubOptions {
  /** Dedicated to the blocking XREAD loop (on a cluster, duplicated for each further partition). */
  redis: RedisClient;
  /** Shared commands connection: history replays and cursor checks (never blocks). */
  commands: RedisClient;
  /** Validates each entry's envelope before any subscriber sees it. */
  events: EventRegistry;
  /** The stream; with partitions, `keys` (every partition key, in partition order) instead. */
  key: string;
  keys?: string[];
  log: Logger;
  blockMs: number;
  readCount: number;
  bufferSize: number;
  metrics?: Metrics;
  /** The stream's logical name for metric labels (orders, inventory); the key when omitted. */
  streamName?: string;
  /**
   * Exactly-once window: distinct events remembered per partition (by eventId) so that a copy
   * (the relay publishing a batch again) is never delivered; 0 = off. See README, delivery guarantee.
   */
  dedupeWindow?: number;
  /**
   * Entries kept in memory (over all partitions) to serve resumes from recent cursors without
   * reading the stream; 0 = off (every resume is a replay pass). See ReplayCache.
   */
  replayCache?: number;
}

/**
 * One blocking XREAD loop per stream per process (per partition on a Redis Cluster, where one
 * command cannot span slots), fanned out in memory. Subscribers are indexed by
 * their first filter key, so an entry only visits the subscribers that can possibly want it; the
 * envelope JSON is parsed at most once per entry and only if some subscriber matches.
 */
export class StreamHub implements Role {
  private readonly byKey = new Map<string, Set<Subscriber>>();
  private readonly firehose = new Set<Subscriber>();
  private readonly stopping = new AbortController();
  private readonly keys: string[];
  /** Last entry id dispatched per partition ("$" until pinned): the live position. */
  private readonly lastIds: string[];
  /** Partition indexes each blocking reader covers, with its connection. */
  private readonly readers: { partitions: number[]; redis: RedisClient }[];
  private loop: Promise<void> | undefined;
  private alive = false;
  /** Per partition: recent eventIds and the copies found (exactly-once delivery). */
  private readonly recent: RecentEvents[];
  /** The entries dispatched lately, for resumes from recent cursors. */
  private readonly cache: ReplayCache;
  /** Resumes waiting for the next replay pass, and the pass running (see resume()). */
  private waiting: Resumer[] = [];
  private pass: ReplayPass | undefined;
  /** The partition-state read cursor checks are sharing (sharedStates). */
  private statesInFlight: Promise<PartitionState[]> | undefined;
  private passing = false;
  /** XRANGE pages read by replay passes (shared: about one pass per burst of resumes); for tests and metrics. */
  replayReads = 0;
  /** Copies of events found and not delivered (live and replay); for tests and metrics. */
  duplicatesDropped = 0;
  /** Resumes served from the replay cache, without reading the stream; for tests and metrics. */
  resumesFromMemory = 0;

  /** True while the XREAD loop runs (readiness). */
  get running(): boolean {
    return this.alive;
  }
  private ready!: Promise<void>;

  constructor(private readonly o: HubOptions) {
    this.keys = o.keys ?? [o.key];
    this.lastIds = this.keys.map(() => "$");
    this.recent = this.keys.map(() => new RecentEvents(o.dedupeWindow ?? 0));
    this.cache = new ReplayCache(o.replayCache ?? 0, this.keys.length);
    // One XREAD covers every partition on a single Redis; a cluster needs one per partition (slot).
    this.readers = readGroups(
      this.keys.map((_, p) => p),
      o.redis.isCluster,
    ).map((partitions, i) => ({
      partitions,
      redis: i === 0 ? o.redis : duplicateRedis(o.redis),
    }));
  }

  get name(): string {
    return `live hub ${this.o.streamName ?? this.o.key}`;
  }

  get partitions(): number {
    return this.keys.length;
  }

  /** Every partition key, in partition order (history reads across partitions). */
  get streamKeys(): readonly string[] {
    return this.keys;
  }

  /** The partition holding an aggregate's events (history reads of one aggregate). */
  partitionFor(aggregateId: string): { key: string; partition: number; partitions: number } {
    const partition = partitionOf(aggregateId, this.partitions);
    return { key: this.keys[partition]!, partition, partitions: this.partitions };
  }

  get subscriberCount(): number {
    let n = this.firehose.size;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  /** Resolves once the reader knows where the stream ends, so no event after that is missed. */
  start(): Promise<void> {
    let markReady!: () => void;
    this.ready = new Promise((resolve) => (markReady = resolve));
    this.alive = true;
    this.loop = this.runAll(markReady).finally(() => (this.alive = false));
    return this.ready;
  }

  /**
   * The process is going away: every subscriber gets what is buffered, then a final
   * SERVICE_UNAVAILABLE result naming its last cursor (over SSE the stream ends there; the client
   * resubscribes with it, on any replica). No new subscriber is taken after this.
   */
  drain(): void {
    const restarting = (lastCursor: string | null) =>
      new AppError(
        "SERVICE_UNAVAILABLE",
        `server restarting: resubscribe with after: ${lastCursor === null ? "your last cursor" : `"${lastCursor}"`}`,
        { extensions: { lastCursor, reason: "SERVICE_RESTART" } },
      );
    for (const m of this.waiting.splice(0)) m.sub.queue.endAfterBuffered(restarting);
    for (const sub of [...this.firehose, ...[...this.byKey.values()].flatMap((s) => [...s])])
      sub.queue.endAfterBuffered(restarting);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const sub of [...this.firehose, ...[...this.byKey.values()].flatMap((s) => [...s])]) sub.queue.return();
    // XREAD BLOCK holds the connection: drop it to end the loop now rather than after blockMs.
    for (const r of this.readers) r.redis.disconnect();
    await this.loop;
  }

  /**
   * Registers a subscriber. With `after`, history after that cursor is replayed from the stream
   * first; live entries arriving meanwhile are held and appended once the replay has caught up.
   * Call checkCursor() first to turn a bad or expired cursor into a clear error.
   */
  subscribe(filter: LiveFilter, opts: { after?: string } = {}): SubscriptionQueue<LiveEvent> {
    const indexKey = filter.keys[0];
    const sub: Subscriber = { filter, queue: undefined as never };
    sub.queue = new SubscriptionQueue<LiveEvent>(this.o.bufferSize, (failure) => {
      if (failure instanceof SlowSubscriberError)
        this.o.metrics?.liveCutOff.inc({ stream: this.o.streamName ?? this.o.key });
      this.remove(sub, indexKey);
    });
    // Registered before the replay starts: every entry the reader dispatches from now on is held,
    // and the replay's XRANGE reaches at least as far as the reader has, so the two overlap.
    if (indexKey === undefined) this.firehose.add(sub);
    else {
      let set = this.byKey.get(indexKey);
      if (!set) this.byKey.set(indexKey, (set = new Set()));
      set.add(sub);
    }
    if (opts.after !== undefined) {
      const after = decodeCursor(opts.after, this.partitions)!;
      sub.queue.hold();
      const source = this.replayFromCache(sub, after) ? "memory" : "stream";
      if (source === "stream") this.resume(sub, after);
      this.o.metrics?.liveResumes.inc({ stream: this.o.streamName ?? this.o.key, source });
    }
    return sub.queue;
  }

  /**
   * Serves a resume from the replay cache when it holds every entry after the cursor: the events
   * are queued and the subscriber goes live in the same turn, so nothing can fall between the two.
   * False leaves it to a replay pass: the cache does not reach back that far, or it holds more of
   * this subscriber's events than its buffer (the pass paces itself on the client).
   */
  private replayFromCache(sub: Subscriber, after: string[]): boolean {
    if (!this.cache.covers(after)) return false;
    const events: LiveEvent[] = [];
    for (const cached of this.cache.since(after, sub.filter.keys[0])) {
      if (!matches(sub.filter, cached.entry)) continue;
      const event = this.liveEventOf(cached);
      if (!event) continue;
      if (events.length === this.o.bufferSize) return false;
      events.push(resumedAt(event, after));
    }
    for (const event of events) sub.queue.pushReplayed(event);
    sub.queue.release(this.handover(sub, maxPositions(this.position(), after)));
    this.resumesFromMemory++;
    return true;
  }

  /**
   * Validates a resume cursor: well-formed, not beyond the end of the stream in any partition
   * (CURSOR_AHEAD, naming where the stream ends), and nothing after it trimmed away in any
   * partition (CURSOR_TOO_OLD, offering `oldestCursor`: the lowest position from which resuming
   * loses nothing). The rules per partition are judgeCursor's.
   */
  async checkCursor(after: string): Promise<void> {
    const ids = decodeCursor(after, this.partitions);
    if (!ids) throw badInput("after", "is not a cursor of this stream");
    let states = await this.sharedStates();
    let verdicts = ids.map((id, p) => judgeCursor(id, states[p]!));
    const ahead = () => verdicts.some((v) => !v.ok && v.reason === "ahead");
    // A read shared with resumes that came a moment earlier may predate the cursor's entry: only a
    // read of its own may call a cursor ahead of the stream.
    if (ahead()) {
      states = await this.readStates();
      verdicts = ids.map((id, p) => judgeCursor(id, states[p]!));
    }
    if (ahead()) {
      const end = encodeCursor(states.map((s) => (s.exists ? s.lastGenerated : "0-0")));
      throw new AppError(
        "CURSOR_AHEAD",
        `cursor "${after}" is beyond the end of the stream (its newest cursor is "${end}"): it was not issued by this stream; resubscribe without after, or with a cursor at or before "${end}"`,
        { field: "after", extensions: { streamEnd: end } },
      );
    }
    if (verdicts.every((v) => v.ok)) return;
    // Per partition: where nothing is missing; partitions that are fine keep their position.
    const oldest = encodeCursor(verdicts.map((v, p) => (!v.ok && v.reason === "too-old" ? v.resumableFrom : ids[p]!)));
    throw new AppError(
      "CURSOR_TOO_OLD",
      `cursor "${after}" is too old: events after it were trimmed from the stream; resume from "${oldest}", the oldest cursor from which nothing more is missing`,
      { field: "after", extensions: { oldestCursor: oldest } },
    );
  }

  /**
   * Every partition's state, one read shared by the cursor checks that arrive while it is in flight:
   * a thousand clients resuming after a deploy cost a few XINFO rounds, not a thousand.
   */
  private sharedStates(): Promise<PartitionState[]> {
    return (this.statesInFlight ??= this.readStates().finally(() => (this.statesInFlight = undefined)));
  }

  private readStates(): Promise<PartitionState[]> {
    return Promise.all(this.keys.map((key) => this.partitionState(key)));
  }

  private async partitionState(key: string): Promise<PartitionState> {
    let info: unknown[];
    const trimmed = this.o.commands.get(trimmedThroughKey(key));
    try {
      info = (await this.o.commands.xinfo("STREAM", key)) as unknown[];
    } catch {
      await trimmed.catch(() => null);
      // No stream yet: nothing was ever added, nothing can have been trimmed.
      return {
        exists: false,
        first: null,
        lastGenerated: "0-0",
        entriesAdded: 0,
        length: 0,
        maxDeleted: "0-0",
        trimmedThrough: null,
      };
    }
    const field = (name: string) => info[info.indexOf(name) + 1];
    return {
      exists: true,
      first: (field("first-entry") as [string, string[]] | null)?.[0] ?? null,
      lastGenerated: String(field("last-generated-id") ?? "0-0"),
      entriesAdded: Number(field("entries-added")),
      length: Number(field("length")),
      maxDeleted: String(field("max-deleted-entry-id") ?? "0-0"),
      trimmedThrough: await trimmed,
    };
  }

  /**
   * Queues a resume. Resumes share their stream reads: one forward pass per hub (every partition,
   * merged by entry id) serves every resuming subscriber whose cursor it has not passed; one that
   * arrives after the pass went beyond its cursor waits for the next pass, which starts at the
   * lowest cursor waiting. So N resumes arriving together cost about one pass, not N.
   */
  private resume(sub: Subscriber, after: string[]): void {
    const member: Resumer = { sub, after, indexKey: sub.filter.keys[0] };
    if (this.pass?.open && covers(after, this.pass.position)) this.pass.join(member);
    else this.waiting.push(member);
    if (!this.passing) void this.runPasses();
  }

  private async runPasses(): Promise<void> {
    this.passing = true;
    try {
      while (this.waiting.length > 0 && !this.stopping.signal.aborted) {
        const members = this.waiting.splice(0);
        const start = members
          .map((m) => m.after)
          .reduce((a, b) => a.map((id, p) => (compareIds(id, b[p]!) <= 0 ? id : b[p]!)));
        const pass = new ReplayPass([...start]);
        for (const m of members) pass.join(m);
        this.pass = pass;
        await this.runPass(pass);
        this.pass = undefined;
      }
    } finally {
      // In the same turn as the last check of `waiting`: a resume arriving later starts a new run.
      this.passing = false;
      this.pass = undefined;
    }
  }

  /**
   * One forward pass from `pass.position`: pages every partition with XRANGE, merges them by entry
   * id, routes each entry through the members' filter index, then hands each member over to live.
   * The pass paces itself on its members (waits for room, at most PASS_ROOM_WAIT_MS); a member whose
   * buffer is still full is cut off with its cursor, so one slow client neither stalls the others
   * nor grows the server's memory.
   */
  private async runPass(pass: ReplayPass): Promise<void> {
    const position = pass.position;
    const fetchedTo = [...position];
    let pages: StreamEntry[][] = this.keys.map(() => []);
    const exhausted = this.keys.map(() => false);
    const window = this.recent[0]!.capacity;
    const local = this.keys.map(() => new ReplayDedupe(window));
    try {
      // A cursor older than the window: the events right before it are what a copy could repeat.
      await Promise.all(
        this.keys.map(async (key, p) => {
          if (window === 0 || this.recent[p]!.covers(position[p]!) || position[p] === "0-0") return;
          const before = (await this.o.commands.xrevrange(key, position[p]!, "-", "COUNT", window)) as [
            string,
            string[],
          ][];
          for (let i = before.length - 1; i >= 0; i--) {
            const [id, fields] = before[i]!;
            local[p]!.seenBefore(eventIdOf(decodeEntry(id, fields).json));
          }
        }),
      );
      for (;;) {
        // stop() closes every member's queue, which ends this wait too; the timer is cleared either way.
        const roomWait = new AbortController();
        await Promise.race([
          Promise.all([...pass.members()].map((m) => m.sub.queue.waitForRoom())),
          sleep(PASS_ROOM_WAIT_MS, roomWait.signal),
        ]);
        roomWait.abort();
        pass.prune();
        if (pass.size === 0) return void (pass.open = false);
        await Promise.all(
          this.keys.map(async (key, p) => {
            if (exhausted[p] || pages[p]!.length > 0) return;
            this.replayReads++;
            const page = (await this.o.commands.xrange(key, `(${fetchedTo[p]}`, "+", "COUNT", REPLAY_PAGE)) as [
              string,
              string[],
            ][];
            pages[p] = page.map(([id, fields]) => decodeEntry(id, fields));
            if (page.length) fetchedTo[p] = page.at(-1)![0];
            if (page.length < REPLAY_PAGE) exhausted[p] = true;
          }),
        );
        const { merged, rest } = mergeByIdOrder(pages, exhausted);
        pages = rest;
        for (const [p, entry] of merged) {
          position[p] = entry.id;
          if (this.isReplayedCopy(p, entry, local[p]!)) continue;
          this.replayEntry(pass, entry, p, position);
        }
        if (exhausted.every(Boolean) && pages.every((page) => page.length === 0)) break;
      }
      pass.open = false;
      for (const m of pass.members()) m.sub.queue.release(this.handover(m.sub, maxPositions(position, m.after)));
    } catch (err) {
      pass.open = false;
      this.o.log.warn({ err, stream: this.o.key }, "history replay failed");
      for (const m of pass.members()) {
        m.sub.queue.fail(
          new AppError("SERVICE_UNAVAILABLE", "could not replay history; resubscribe with the same cursor", {
            extensions: { lastCursor: m.sub.queue.lastCursor ?? encodeCursor(m.after) },
          }),
        );
      }
    }
  }

  /** Routes one replayed entry to the pass's members, through their filter index, as dispatch does live. */
  private replayEntry(pass: ReplayPass, entry: StreamEntry, p: number, position: string[]): void {
    let event: LiveEvent | null | undefined;
    const deliver = (m: Resumer) => {
      if (compareIds(entry.id, m.after[p]!) <= 0) return; // at or before its cursor: it has it
      if (!matches(m.sub.filter, entry)) return;
      if (event === undefined) event = this.toLiveEvent(entry, p, [...position]);
      if (!event) return;
      const own = resumedAt(event, m.after);
      const queue = m.sub.queue;
      if (queue.size >= this.o.bufferSize) {
        queue.fail(new SlowSubscriberError(queue.lastCursor ?? encodeCursor(m.after)));
        return;
      }
      queue.pushReplayed(own);
    };
    pass.route(entry.keys, deliver);
  }

  /**
   * A replayed entry that repeats an earlier one (same eventId). Where the live reader has seen the
   * entry and the window covers it, the hub's memory decides; elsewhere (older than the window, or
   * ahead of the reader) the replay's own memory of what it read (and of the window before its cursor).
   */
  private isReplayedCopy(p: number, entry: StreamEntry, local: ReplayDedupe): boolean {
    const recent = this.recent[p]!;
    if (recent.capacity === 0) return false;
    const eventId = eventIdOf(entry.json);
    const judged = recent.covers(entry.id) && this.lastIds[p] !== "$" && compareIds(entry.id, this.lastIds[p]!) <= 0;
    const copy = recent.isKnownCopy(eventId, entry.id) || (judged ? local.has(eventId) : local.seenBefore(eventId));
    if (copy) this.duplicatesDropped++;
    return copy;
  }

  /**
   * After a replay that reached `replayed`: drop live events it covered; the rest carry a cursor no
   * lower than the replay in any partition (the reader may lag behind it in some), until the
   * reader has passed the replay everywhere.
   */
  private handover(sub: Subscriber, replayed: string[]): (e: LiveEvent) => LiveEvent | null {
    return (e) => {
      if (compareIds(e.id, replayed[e.partition]!) <= 0) return null;
      if (covers(e.position, replayed)) {
        sub.queue.ungate();
        return e;
      }
      const position = maxPositions(e.position, replayed);
      return { ...e, position, cursor: encodeCursor(position) };
    };
  }

  private remove(sub: Subscriber, indexKey: string | undefined): void {
    if (indexKey === undefined) return void this.firehose.delete(sub);
    const set = this.byKey.get(indexKey);
    set?.delete(sub);
    if (set?.size === 0) this.byKey.delete(indexKey);
  }

  /** Every reader's loop; ready once each has pinned the end of its partitions. */
  private async runAll(markReady: () => void): Promise<void> {
    let pinned = 0;
    const onePinned = () => ++pinned === this.readers.length && markReady();
    await Promise.all(this.readers.map((r) => this.run(r, onePinned)));
    markReady();
  }

  private async run(reader: { partitions: number[]; redis: RedisClient }, markPinned: () => void): Promise<void> {
    let failures = 0;
    let pinned = false;
    const keys = reader.partitions.map((p) => this.keys[p]!);
    const partitionOf = new Map(keys.map((k, i) => [k, reader.partitions[i]!]));
    while (!this.stopping.signal.aborted) {
      try {
        for (const p of reader.partitions) {
          if (this.lastIds[p] !== "$") continue;
          // Pin the current end of the stream: after a reconnect we continue from the last entry seen.
          // The entries before it seed the exactly-once window, so a copy published right after a
          // restart of this process is still recognised, and the replay cache, so the resumes that
          // follow a restart are served from memory.
          const count = Math.max(1, this.recent[p]!.capacity, this.cacheShare);
          const tail = await reader.redis.xrevrange(this.keys[p]!, "+", "-", "COUNT", count);
          this.seedTail(p, tail, count);
          this.lastIds[p] = tail[0]?.[0] ?? "0-0";
        }
        if (!pinned) {
          pinned = true;
          markPinned();
        }
        const ids = reader.partitions.map((p) => this.lastIds[p]!);
        const reply = (await reader.redis.xread(
          "COUNT",
          this.o.readCount,
          "BLOCK",
          this.o.blockMs,
          "STREAMS",
          ...keys,
          ...ids,
        )) as [string, [string, string[]][]][] | null;
        failures = 0;
        for (const [key, entries] of reply ?? []) {
          const p = partitionOf.get(key)!;
          for (const [id, fields] of entries) {
            this.lastIds[p] = id;
            this.dispatch(decodeEntry(id, fields), p);
          }
        }
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        const delay = backoffDelay(failures++, 100, 2_000);
        this.o.log.warn(
          { err, stream: keys.join(","), retryInMs: delay },
          "live hub read failed; resuming from last entry",
        );
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  /** Where the hub stands: the last entry dispatched per partition ("0-0" where none is pinned yet). */
  private position(): string[] {
    return this.lastIds.map((id) => (id === "$" ? "0-0" : id));
  }

  /** The replay cache's entries per partition, as seeded at start. */
  private get cacheShare(): number {
    return Math.ceil(this.cache.capacity / this.partitions);
  }

  /** Seeds the exactly-once window and the replay cache with the partition's tail (`count` entries asked for). */
  private seedTail(p: number, newestFirst: [string, string[]][], count: number): void {
    const recent = this.recent[p]!;
    const cacheShare = this.cacheShare;
    const position = this.position();
    for (let i = newestFirst.length - 1; i >= 0; i--) {
      const [id, fields] = newestFirst[i]!;
      const entry = decodeEntry(id, fields);
      if (recent.observe(eventIdOf(entry.json), id)) continue; // a copy: never delivered
      if (i < cacheShare) {
        // As if dispatched now, in this order: the cursor names this entry and what the hub held
        // of the other partitions (a resume's own position there wins: resumedAt never lowers it).
        position[p] = id;
        this.cache.add(entry, p, [...position]);
      }
    }
    const wholeStream = newestFirst.length < count;
    // The whole stream read: every entry is known. Otherwise from the oldest read, unless the
    // window was smaller than the read and already moved its start on evicting.
    if (!wholeStream && newestFirst.length <= recent.capacity) recent.coveredFrom = newestFirst.at(-1)![0];
    const oldestCached = newestFirst[Math.min(cacheShare, newestFirst.length) - 1]?.[0];
    this.cache.pinned(p, oldestCached, wholeStream && cacheShare >= newestFirst.length);
  }

  private dispatch(entry: StreamEntry, partition: number): void {
    if (this.recent[partition]!.observe(eventIdOf(entry.json), entry.id)) {
      this.duplicatesDropped++;
      this.o.log.warn(
        { stream: this.o.key, cursor: entry.id, partition },
        "live hub dropped a copy of an event already delivered",
      );
      return;
    }
    const cached = this.cache.add(entry, partition, this.position());
    let event: LiveEvent | null | undefined; // undefined = not parsed yet, null = unparseable
    let delivered = 0;
    const deliver = (sub: Subscriber) => {
      if (!matches(sub.filter, entry)) return;
      if (event === undefined) event = this.liveEventOf(cached);
      if (event) {
        sub.queue.push(event);
        delivered++;
      }
    };
    this.firehose.forEach(deliver);
    const seen = entry.keys.length > 1 ? new Set<string>() : undefined;
    for (const key of entry.keys) {
      if (seen) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      this.byKey.get(key)?.forEach(deliver);
    }
    if (event && delivered > 0) this.observeDelivery(event, delivered);
  }

  /** Commit→delivery latency (occurredAt is stamped in the committing transaction) and a delivery span. */
  private observeDelivery(event: LiveEvent, subscribers: number): void {
    const stream = this.o.streamName ?? this.o.key;
    const latencyMs = Date.now() - Date.parse(event.envelope.occurredAt);
    if (this.o.metrics) {
      this.o.metrics.liveDelivered.inc({ stream }, subscribers);
      if (latencyMs >= 0) this.o.metrics.deliveryLatency.observe({ stream }, latencyMs / 1000);
    }
    recordSpan(
      `live deliver ${event.envelope.eventType}`,
      event.envelope.traceparent,
      Date.now(),
      { "live.subscribers": subscribers, "live.cursor": event.cursor, "live.commit_to_delivery_ms": latencyMs },
      SpanKind.CONSUMER,
    );
  }

  /** The entry's LiveEvent, built once however many subscribers and resumes it reaches. */
  private liveEventOf(cached: CachedEntry): LiveEvent | null {
    if (cached.event === undefined) cached.event = this.toLiveEvent(cached.entry, cached.partition, cached.position);
    return cached.event;
  }

  private toLiveEvent(entry: StreamEntry, partition: number, position: readonly string[]): LiveEvent | null {
    try {
      const envelope = this.o.events.parseJson(entry.json);
      const traceId = parseTraceparent(envelope.traceparent)?.traceId ?? null;
      this.o.log.info(
        { traceId, eventId: envelope.eventId, eventType: envelope.eventType, cursor: entry.id, partition },
        "live hub delivering event",
      );
      return { cursor: encodeCursor(position), envelope, traceId, partition, id: entry.id, position };
    } catch (err) {
      this.o.log.error({ err, stream: this.o.key, cursor: entry.id }, "live hub skipped an invalid stream entry");
      return null;
    }
  }
}

/** The event as a subscriber resuming from `after` receives it: never a cursor below `after` in any partition. */
function resumedAt(event: LiveEvent, after: readonly string[]): LiveEvent {
  if (covers(event.position, after)) return event;
  const position = maxPositions(event.position, after);
  return { ...event, position, cursor: encodeCursor(position) };
}

function matches(filter: LiveFilter, entry: StreamEntry): boolean {
  if (filter.types?.length && !filter.types.includes(entry.type)) return false;
  for (let i = 1; i < filter.keys.length; i++) if (!entry.keys.includes(filter.keys[i]!)) return false;
  return true;
}

/** A subscriber resuming from `after` (one entry id per partition). */
interface Resumer {
  sub: Subscriber;
  after: string[];
  indexKey: string | undefined;
}

/** A shared replay pass: its position (everything up to it routed) and its members, indexed like live subscribers. */
class ReplayPass {
  private readonly byKey = new Map<string, Set<Resumer>>();
  private readonly firehose = new Set<Resumer>();

  /** False once it hands over: a resume arriving then waits for the next pass. */
  open = true;

  constructor(readonly position: string[]) {}

  join(m: Resumer): void {
    if (m.indexKey === undefined) return void this.firehose.add(m);
    let set = this.byKey.get(m.indexKey);
    if (!set) this.byKey.set(m.indexKey, (set = new Set()));
    set.add(m);
  }

  get size(): number {
    let n = this.firehose.size;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  *members(): Generator<Resumer> {
    yield* this.firehose;
    for (const set of this.byKey.values()) yield* set;
  }

  /** Drops members that went away or were cut off. */
  prune(): void {
    for (const m of this.firehose) if (m.sub.queue.isClosed) this.firehose.delete(m);
    for (const [key, set] of this.byKey) {
      for (const m of set) if (m.sub.queue.isClosed) set.delete(m);
      if (set.size === 0) this.byKey.delete(key);
    }
  }

  /** Every member whose first filter key is on the entry (once each), and the firehose members. */
  route(keys: readonly string[], deliver: (m: Resumer) => void): void {
    this.firehose.forEach(deliver);
    const seen = keys.length > 1 ? new Set<string>() : undefined;
    for (const key of keys) {
      if (seen) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      this.byKey.get(key)?.forEach(deliver);
    }
  }
}
