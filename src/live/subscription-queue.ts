/**
 * A bounded queue between the hub (producer) and one subscriber (consumer). The hub never waits
 * for a subscriber: when the buffer is full the subscriber is closed with SlowSubscriberError,
 * which carries the last cursor it received, so a slow client costs at most `capacity` items.
 */
export class SlowSubscriberError extends Error {
  override name = "SlowSubscriberError";
  constructor(readonly lastCursor: string | null) {
    super(
      `subscriber fell too far behind and was disconnected; resubscribe with after: ${lastCursor === null ? "null (no event was delivered)" : `"${lastCursor}"`}`,
    );
  }
}

export class SubscriptionQueue<T extends { cursor: string }> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private head = 0;
  private pending: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private closed = false;
  lastCursor: string | null = null;

  constructor(
    private readonly capacity: number,
    private readonly onClose: () => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called by the hub. Never blocks. */
  push(item: T): void {
    if (this.closed) return;
    if (this.pending) {
      const { resolve } = this.pending;
      this.pending = undefined;
      this.lastCursor = item.cursor;
      resolve({ value: item, done: false });
      return;
    }
    if (this.buffer.length - this.head >= this.capacity) return this.fail(new SlowSubscriberError(this.lastCursor));
    this.buffer.push(item);
  }

  /** Ends the subscription with an error the client sees (after it drained nothing more). */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    this.buffer.length = this.head = 0;
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.buffer.length) this.compact();
      this.lastCursor = value.cursor;
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) {
      const error = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  /** The consumer went away (client unsubscribed or disconnected). */
  return(): Promise<IteratorResult<T>> {
    this.buffer.length = this.head = 0;
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

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    const waiting = this.pending;
    this.pending = undefined;
    if (!waiting) return;
    if (this.failure) {
      waiting.reject(this.failure);
      this.failure = undefined;
    } else waiting.resolve({ value: undefined, done: true });
  }

  private compact(): void {
    this.buffer.splice(0, this.head);
    this.head = 0;
  }
}
