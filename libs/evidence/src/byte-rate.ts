/** Time as the rate limiter sees it: injected so tests run a minute of throttling in no time. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket of bytes: `take(n)` resolves once n more bytes fit in `bytesPerSecond`, so a
 * reader that awaits it before using each chunk reads at that rate on average. The bucket holds
 * a quarter of a second of bytes: a short burst after a pause, never a long one. A chunk larger
 * than the bucket is let through at once and paid for by waiting afterwards (the balance goes
 * negative), so no chunk size can stall it. Several readers may share one limiter: each waits out
 * the debt all of them made, so together they keep to the rate.
 */
export class ByteRateLimiter {
  private readonly capacity: number;
  private tokens: number;
  private last: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
    burstSeconds = 0.25,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError('bytesPerSecond must be positive');
    this.capacity = bytesPerSecond * burstSeconds;
    this.tokens = this.capacity;
    this.last = clock.now();
  }

  async take(bytes: number): Promise<void> {
    this.refill();
    this.tokens -= bytes;
    if (this.tokens < 0) await this.clock.sleep((-this.tokens / this.bytesPerSecond) * 1000);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }
}
