import { AppError } from "../shared/errors.ts";
import { Fifo } from "../shared/fifo.ts";

/** A subscriber that fell too far behind; it resumes with `after: lastCursor`. */
export class SlowSubscriberError extends AppError {
  constructor(readonly lastCursor: string | null) {
    super(
      "SLOW_SUBSCRIBER",
      `subscriber fell too far behind and was disconnected; resubscribe with after: ${lastCursor === null ? "null (no event was delivered)" : `"${lastCursor}"`}`,
      { extensions: { lastCursor } },
    );
  }
}

/**
 * A bounded queue between the hub (producer) and one subscriber (consumer). The hub never waits
 * for a subscriber: when the buffer is full the subscriber is closed with SlowSubscriberError,
 * which carries the last cursor it received, so a slow client costs at most `capacity` items.
 *
 * While a subscriber replays history (`after`), live items are held aside; `release()` then
 * appends the held items its gate admits (those newer than the replay): no gap, no duplicate.
 */
export class SubscriptionQueue<T extends { cursor: string }> implements AsyncIterableIterator<T> {
  private readonly buffer = new Fifo<T>();
  private held: T[] | null = null;
  /**
   * After a replay: drops live items replayed already (the reader may lag behind the replay) and
   * may rewrite an item (its cursor); the hub removes it with ungate() once the reader has passed.
   */
  private gate: ((item: T) => T | null) | null = null;
  private pending: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  private roomWaiter: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  lastCursor: string | null = null;

  constructor(
    private readonly capacity: number,
    /** Called once when the queue closes, with the error it failed with (if it did). */
    private readonly onClose: (failure?: Error) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.buffer.length;
  }

  /** Called by the hub for live items. Never blocks. */
  push(item: T): void {
    if (this.closed) return;
    if (this.gate !== null) {
      const admitted = this.gate(item);
      if (admitted === null) return;
      item = admitted;
    }
    if (this.held) {
      if (this.held.length >= this.capacity) return this.fail(new SlowSubscriberError(this.lastCursor));
      this.held.push(item);
      return;
    }
    this.enqueue(item, true);
  }

  /** Start holding live items aside (history is about to be replayed). */
  hold(): void {
    this.held = [];
  }

  /** A replayed item: bypasses the hold; the replayer paces itself with waitForRoom(). */
  pushReplayed(item: T): void {
    if (!this.closed) this.enqueue(item, false);
  }

  /** History is done: append the held live items the gate admits and go live through the gate. */
  release(gate: (item: T) => T | null): void {
    const held = this.held ?? [];
    this.held = null;
    this.gate = gate;
    for (const item of held) this.push(item);
  }

  /** The reader has passed the replay: no more overlap possible. */
  ungate(): void {
    this.gate = null;
  }

  /** Resolves once the consumer has drained the buffer below half its capacity (or went away). */
  waitForRoom(): Promise<void> {
    if (this.closed || this.size < this.capacity / 2) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Ends the subscription with an error the consumer receives instead of further items. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.buffer.clear();
    this.held = null;
    this.finish();
  }

  /**
   * Ends the subscription after what is already buffered (the server is shutting down): the
   * consumer still gets those items, then `error` built from the cursor of the last of them.
   */
  endAfterBuffered(error: (lastCursor: string | null) => Error): void {
    if (this.closed) return;
    this.failure = error(this.buffer.last()?.cursor ?? this.lastCursor);
    this.held = null;
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      const value = this.buffer.shift()!;
      this.lastCursor = value.cursor;
      if (this.roomWaiter && this.size < this.capacity / 2) this.wakeReplayer();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) {
      const error = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    this.wakeReplayer();
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  /** The consumer went away (client unsubscribed or disconnected). */
  return(): Promise<IteratorResult<T>> {
    this.buffer.clear();
    this.held = null;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private enqueue(item: T, bounded: boolean): void {
    if (this.pending) {
      const { resolve } = this.pending;
      this.pending = undefined;
      this.lastCursor = item.cursor;
      resolve({ value: item, done: false });
      return;
    }
    if (bounded && this.size >= this.capacity) return this.fail(new SlowSubscriberError(this.lastCursor));
    this.buffer.push(item);
  }

  private wakeReplayer(): void {
    const wake = this.roomWaiter;
    this.roomWaiter = undefined;
    wake?.();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this.failure);
    this.wakeReplayer();
    const waiting = this.pending;
    this.pending = undefined;
    if (!waiting) return;
    if (this.failure) {
      waiting.reject(this.failure);
      this.failure = undefined;
    } else waiting.resolve({ value: undefined, done: true });
  }
}
