/**
 * A bounded in-process work queue with a fixed number of concurrent workers. `offer` never blocks and
 * never waits: when the queue is full it returns false and the caller decides what happens to the item
 * (the rule router dead-letters it), so a slow consumer can never stall the MQTT broker.
 */

/** Queue counters. */
export interface QueueStats {
  /** Items waiting. */
  queued: number;
  /** Items being processed. */
  inFlight: number;
  /** Highest number of items ever waiting. */
  maxQueued: number;
  /** Items refused because the queue was full. */
  overflow: number;
}

/** A bounded FIFO processed by `concurrency` workers. */
export class WorkQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private active = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly statsValue: QueueStats = { queued: 0, inFlight: 0, maxQueued: 0, overflow: 0 };

  constructor(
    private readonly worker: (item: T) => Promise<void>,
    private readonly opts: {
      capacity: number;
      concurrency: number;
      onWorkerError?: (err: unknown, item: T) => void;
    },
  ) {
    if (opts.capacity < 1 || opts.concurrency < 1)
      throw new RangeError('capacity and concurrency must be ≥ 1');
  }

  /** Current counters (a live view). */
  get stats(): Readonly<QueueStats> {
    return this.statsValue;
  }

  /** Enqueue; false when the queue is full or closed. */
  offer(item: T): boolean {
    if (this.closed || this.size() >= this.opts.capacity) {
      this.statsValue.overflow++;
      return false;
    }
    this.items.push(item);
    this.statsValue.queued = this.size();
    this.statsValue.maxQueued = Math.max(this.statsValue.maxQueued, this.statsValue.queued);
    this.pump();
    return true;
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.size() === 0 && this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop accepting, wait up to `timeoutMs` for the queue to drain, and return what was still waiting
   * (the caller keeps it somewhere durable).
   */
  async close(timeoutMs: number): Promise<T[]> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const left = this.items.slice(this.head).filter((x): x is T => x !== undefined);
    this.items = [];
    this.head = 0;
    this.statsValue.queued = 0;
    return left;
  }

  private size(): number {
    return this.items.length - this.head;
  }

  private take(): T | undefined {
    if (this.size() === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.statsValue.queued = this.size();
    return item;
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.size() > 0) {
      const item = this.take() as T;
      this.active++;
      this.statsValue.inFlight = this.active;
      this.worker(item)
        .catch((err: unknown) => this.opts.onWorkerError?.(err, item))
        .finally(() => {
          this.active--;
          this.statsValue.inFlight = this.active;
          this.pump();
          if (this.size() === 0 && this.active === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }
}
