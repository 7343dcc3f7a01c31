import { describe, expect, it } from 'vitest';
import { ByteRateLimiter, type Clock } from './byte-rate.js';

/** A clock whose sleeps advance time at once, recording how long was slept. */
function fakeClock(): Clock & { slept: number; advance(ms: number): void } {
  let now = 1_000;
  const clock = {
    slept: 0,
    now: () => now,
    sleep: async (ms: number) => {
      clock.slept += ms;
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
  return clock;
}

const MIB = 1024 * 1024;

describe('ByteRateLimiter', () => {
  it('holds a reader of 64 KiB chunks to the rate (within 1%, after the first quarter second)', async () => {
    const clock = fakeClock();
    const limiter = new ByteRateLimiter(4 * MIB, clock);
    const start = clock.now();
    for (let read = 0; read < 40 * MIB; read += 64 * 1024) await limiter.take(64 * 1024);
    const seconds = (clock.now() - start) / 1000;
    // 40 MiB at 4 MiB/s is 10 s, less the quarter second of bytes the full bucket lets through.
    expect(seconds).toBeGreaterThan(9.75 * 0.99);
    expect(seconds).toBeLessThan(9.75 * 1.01);
  });

  it('lets a chunk larger than the bucket through and makes the next reader pay for it', async () => {
    const clock = fakeClock();
    const limiter = new ByteRateLimiter(1 * MIB, clock);
    await limiter.take(3 * MIB);
    expect(clock.slept).toBeCloseTo(2750, 6);
    await limiter.take(1 * MIB);
    expect(clock.slept).toBeCloseTo(3750, 6);
  });

  it('waits for nothing while reads stay under the rate, and keeps no more than a quarter second of credit', async () => {
    const clock = fakeClock();
    const limiter = new ByteRateLimiter(1 * MIB, clock);
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await limiter.take(MIB / 4);
    }
    expect(clock.slept).toBe(0);
    // An hour idle earns no more than the bucket: 1 MiB at once then waits 0.75 s.
    clock.advance(3_600_000);
    await limiter.take(MIB);
    expect(clock.slept).toBeCloseTo(750, 6);
  });

  it('keeps two readers sharing it to the rate together', async () => {
    const clock = fakeClock();
    const limiter = new ByteRateLimiter(2 * MIB, clock);
    const start = clock.now();
    const reader = async () => {
      for (let read = 0; read < 10 * MIB; read += 256 * 1024) await limiter.take(256 * 1024);
    };
    await Promise.all([reader(), reader()]);
    // 20 MiB at 2 MiB/s: 10 s less the initial quarter second; overlapping waits may only add.
    expect((clock.now() - start) / 1000).toBeGreaterThanOrEqual(9.75 * 0.99);
  });
});
