/**
 * How many requests of one kind each user has running in this process, capped: for work that
 * holds something scarce for as long as it runs (a lock connection while bytes arrive, a whole
 * re-read of a file), so one account cannot take all of it.
 */
export class PerUserLimit {
  private readonly running = new Map<string, number>();

  constructor(readonly max: number) {}

  /** The user's running count. */
  of(userId: string): number {
    return this.running.get(userId) ?? 0;
  }

  /** Counts one more for the user and returns its release; throws `refusal()` when they are at the limit. */
  take(userId: string, refusal: () => Error): () => void {
    const count = this.of(userId);
    if (count >= this.max) throw refusal();
    this.running.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.of(userId) - 1;
      if (left > 0) this.running.set(userId, left);
      else this.running.delete(userId);
    };
  }
}
