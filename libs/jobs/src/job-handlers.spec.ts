import { describe, expect, it } from 'vitest';
import type { CustodiaConfig } from '#custodia/config';
import { StartupError } from '#custodia/errors';
import { JobHandlers } from './job-handlers.js';
import { JOB_NAMES, type JobQueue } from './job-queue.js';

/** A queue that records what would be worked. */
const queueRecording = (worked: string[]): JobQueue =>
  ({
    start: async () => undefined,
    work: async (name: string, _handler: unknown, concurrency: number) => void worked.push(`${name} x${concurrency}`),
  }) as unknown as JobQueue;

const handlers = (workQueue: boolean, worked: string[] = []) => new JobHandlers(queueRecording(worked), { workQueue } as CustodiaConfig);
const noop = async (): Promise<void> => undefined;

describe('JobHandlers: every job name has exactly one handler where the queue is worked', () => {
  it('works each registered handler at boot with its concurrency', async () => {
    const worked: string[] = [];
    const all = handlers(true, worked);
    for (const name of JOB_NAMES) all.register(name, noop, { concurrency: 2, owner: `owner of ${name}` });
    await all.onApplicationBootstrap();
    expect(worked.sort()).toEqual(JOB_NAMES.map((name) => `${name} x2`).sort());
  });

  it('stops the boot naming a job without a handler, or with two', async () => {
    const missing = handlers(true);
    missing.register(JOB_NAMES[0]!, noop, { concurrency: 1, owner: 'A' });
    await expect(missing.onApplicationBootstrap()).rejects.toThrow(StartupError);
    await expect(missing.onApplicationBootstrap()).rejects.toThrow(new RegExp(`no handler for the job "${JOB_NAMES[1]}"`));
    const doubled = handlers(true);
    for (const name of JOB_NAMES) doubled.register(name, noop, { concurrency: 1, owner: 'A' });
    doubled.register(JOB_NAMES[0]!, noop, { concurrency: 1, owner: 'B' });
    await expect(doubled.onApplicationBootstrap()).rejects.toThrow(/2 handlers for the job .* \(A, B\)/);
  });

  it('works nothing, and checks nothing, where this process does not work the queue (CUSTODIA_WORK_QUEUE=false)', async () => {
    const worked: string[] = [];
    await handlers(false, worked).onApplicationBootstrap();
    expect(worked).toEqual([]);
  });
});
