import type { Redis } from "ioredis";
import type { Logger } from "../observability/logger.ts";
import { decodeEntry, type StreamEntry } from "../events/stream-entry.ts";
import { parseEnvelope, type AnyEnvelope } from "../events/envelope.ts";
import { parseTraceparent } from "../observability/trace.ts";
import { backoffDelay, sleep } from "../shared/backoff.ts";
import { SubscriptionQueue } from "./subscription-queue.ts";
import { AppError, badInput } from "../errors.ts";
import { STREAM_ID, compareIds } from "../events/stream-ids.ts";
import { trimmedThroughKey } from "../retention/trimmer.ts";
import type { Metrics } from "../observability/metrics.ts";
import { recordSpan, SpanKind } from "../observability/tracing.ts";

const REPLAY_PAGE = 200;

/** What a subscriber receives: built once per stream entry and shared by all its subscribers. */
export interface LiveEvent {
  cursor: string;
  envelope: AnyEnvelope;
  traceId: string | null;
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
  /** Dedicated to the blocking XREAD loop. */
  redis: Redis;
  /** Shared commands connection: history replays and cursor checks (never blocks). */
  commands: Redis;
  key: string;
  log: Logger;
  blockMs: number;
  readCount: number;
  bufferSize: number;
  metrics?: Metrics;
  /** The stream's logical name for metric labels (orders, inventory); the key when omitted. */
  streamName?: string;
}

/**
 * One blocking XREAD loop per stream per process, fanned out in memory. Subscribers are indexed by
 * their first filter key, so an entry only visits the subscribers that can possibly want it; the
 * envelope JSON is parsed at most once per entry and only if some subscriber matches.
 */
export class StreamHub {
  private readonly byKey = new Map<string, Set<Subscriber>>();
  private readonly firehose = new Set<Subscriber>();
  private readonly stopping = new AbortController();
  private lastId = "$";
  private loop: Promise<void> | undefined;
  private alive = false;

  /** True while the XREAD loop runs (readiness). */
  get running(): boolean {
    return this.alive;
  }
  private ready!: Promise<void>;

  constructor(private readonly o: HubOptions) {}

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
    this.loop = this.run(markReady).finally(() => (this.alive = false));
    return this.ready;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const sub of [...this.firehose, ...[...this.byKey.values()].flatMap((s) => [...s])]) sub.queue.return();
    // XREAD BLOCK holds the connection: drop it to end the loop now rather than after blockMs.
    this.o.redis.disconnect();
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
    sub.queue = new SubscriptionQueue<LiveEvent>(this.o.bufferSize, () => this.remove(sub, indexKey));
    // Registered before the replay starts: every entry the reader dispatches from now on is held,
    // and the replay's XRANGE reaches at least as far as the reader has, so the two overlap.
    if (indexKey === undefined) this.firehose.add(sub);
    else {
      let set = this.byKey.get(indexKey);
      if (!set) this.byKey.set(indexKey, (set = new Set()));
      set.add(sub);
    }
    if (opts.after !== undefined) {
      sub.queue.hold();
      void this.replay(sub, opts.after);
    }
    return sub.queue;
  }

  /** Validates a resume cursor: well-formed, and nothing after it trimmed away. */
  async checkCursor(after: string): Promise<void> {
    if (!STREAM_ID.test(after)) throw badInput("after", "is not a cursor of this stream");
    let info: unknown[];
    try {
      info = (await this.o.commands.xinfo("STREAM", this.o.key)) as unknown[];
    } catch {
      return; // no stream yet: nothing can have been trimmed
    }
    const field = (name: string) => info[info.indexOf(name) + 1];
    const first = (field("first-entry") as [string, string[]] | null)?.[0] ?? null;
    // The newest entry known to be gone: XDEL'd (Redis tracks it) or trimmed (our trimmer records it).
    const trimmed = await this.o.commands.get(trimmedThroughKey(this.o.key));
    const gone = [String(field("max-deleted-entry-id") ?? "0-0"), trimmed ?? "0-0"].reduce((a, b) => (compareIds(a, b) >= 0 ? a : b));
    // Trimmed by someone else (no record): anything before the first entry may be lost.
    const unrecordedTrim = trimmed === null && Number(field("entries-added")) > Number(field("length")) && first !== null && compareIds(after, first) < 0;
    if (compareIds(after, gone) < 0 || unrecordedTrim) {
      throw new AppError(
        "CURSOR_TOO_OLD",
        `cursor "${after}" is too old: events after it were trimmed from the stream; the oldest event still available has cursor ${first === null ? "null (the stream is empty)" : `"${first}"`}`,
        { field: "after", extensions: { oldestCursor: first } },
      );
    }
  }

  private async replay(sub: Subscriber, after: string): Promise<void> {
    let last = after;
    try {
      for (;;) {
        await sub.queue.waitForRoom();
        if (sub.queue.isClosed) return;
        const page = (await this.o.commands.xrange(this.o.key, `(${last}`, "+", "COUNT", REPLAY_PAGE)) as [string, string[]][];
        for (const [id, fields] of page) {
          last = id;
          const entry = decodeEntry(id, fields);
          if (!matchesAll(sub.filter, entry)) continue;
          const event = this.toLiveEvent(entry);
          if (event) sub.queue.pushReplayed(event);
        }
        if (page.length < REPLAY_PAGE) break;
      }
      sub.queue.release(last);
    } catch (err) {
      this.o.log.warn({ err, stream: this.o.key, after }, "history replay failed");
      sub.queue.fail(new AppError("SERVICE_UNAVAILABLE", "could not replay history; resubscribe with the same cursor", { extensions: { lastCursor: sub.queue.lastCursor ?? after } }));
    }
  }

  private remove(sub: Subscriber, indexKey: string | undefined): void {
    if (indexKey === undefined) return void this.firehose.delete(sub);
    const set = this.byKey.get(indexKey);
    set?.delete(sub);
    if (set?.size === 0) this.byKey.delete(indexKey);
  }

  private async run(markReady: () => void): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        if (this.lastId === "$") {
          // Pin the current end of the stream: after a reconnect we continue from the last entry seen.
          const last = (await this.o.redis.xrevrange(this.o.key, "+", "-", "COUNT", 1))[0];
          this.lastId = last?.[0] ?? "0-0";
          markReady();
        }
        const reply = (await this.o.redis.xread("COUNT", this.o.readCount, "BLOCK", this.o.blockMs, "STREAMS", this.o.key, this.lastId)) as
          | [string, [string, string[]][]][]
          | null;
        failures = 0;
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          this.lastId = id;
          this.dispatch(decodeEntry(id, fields));
        }
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        const delay = backoffDelay(failures++, 100, 2_000);
        this.o.log.warn({ err, stream: this.o.key, retryInMs: delay }, "live hub read failed; resuming from last entry");
        await sleep(delay, this.stopping.signal);
      }
    }
    markReady();
  }

  private dispatch(entry: StreamEntry): void {
    let event: LiveEvent | null | undefined; // undefined = not parsed yet, null = unparseable
    let delivered = 0;
    const deliver = (sub: Subscriber) => {
      if (!matches(sub.filter, entry)) return;
      if (event === undefined) event = this.toLiveEvent(entry);
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
    recordSpan(`live deliver ${event.envelope.eventType}`, event.envelope.traceparent, Date.now(), { "live.subscribers": subscribers, "live.cursor": event.cursor, "live.commit_to_delivery_ms": latencyMs }, SpanKind.CONSUMER);
  }

  private toLiveEvent(entry: StreamEntry): LiveEvent | null {
    try {
      const envelope = parseEnvelope(JSON.parse(entry.json));
      const traceId = parseTraceparent(envelope.traceparent)?.traceId ?? null;
      this.o.log.info({ traceId, eventId: envelope.eventId, eventType: envelope.eventType, cursor: entry.id }, "live hub delivering event");
      return { cursor: entry.id, envelope, traceId };
    } catch (err) {
      this.o.log.error({ err, stream: this.o.key, cursor: entry.id }, "live hub skipped an invalid stream entry");
      return null;
    }
  }
}

/** For replayed entries, which did not come through the key index: every key must match. */
function matchesAll(filter: LiveFilter, entry: StreamEntry): boolean {
  if (filter.keys[0] !== undefined && !entry.keys.includes(filter.keys[0])) return false;
  return matches(filter, entry);
}

function matches(filter: LiveFilter, entry: StreamEntry): boolean {
  if (filter.types?.length && !filter.types.includes(entry.type)) return false;
  for (let i = 1; i < filter.keys.length; i++) if (!entry.keys.includes(filter.keys[i]!)) return false;
  return true;
}
