/** A first-in first-out list with O(1) push and shift and indexed reads (an array and a moving head). */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The i-th item from the oldest (0) to the newest (length - 1). */
  at(i: number): T {
    return this.items[this.head + i]!;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The newest item (undefined when empty). */
  last(): T | undefined {
    return this.length > 0 ? this.items[this.items.length - 1] : undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as T; // let it be collected
    // Compact once the dead prefix is most of the array: amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
