import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { EntityManager } from 'typeorm';

/** Every background job: its name and the data it carries. */
export interface JobTypes {
  'evidence.derivatives': { evidenceId: string };
  'exports.build': { exportId: string };
  /** A run of fixity checks over every item due (the data is empty: the schedule is in evidence_items). */
  'evidence.fixity': Record<string, never>;
}
export type JobName = keyof JobTypes;
export const JOB_NAMES: readonly JobName[] = ['evidence.derivatives', 'exports.build', 'evidence.fixity'];

/** How long a job may run before pg-boss takes it for dead and retries it; a package of many gigabytes takes a while. */
const EXPIRE_IN_SECONDS: Record<JobName, number> = {
  'evidence.derivatives': 15 * 60,
  'exports.build': 12 * 3600,
  // A run stops taking batches after 45 minutes (fixity.job.ts); a batch recorded every 30 s.
  'evidence.fixity': 3600,
};

/**
 * A job id (a UUID, as pg-boss wants) that is the same for the same `text` in every process: a
 * job several instances would enqueue at once (a scheduled run, a repair) is enqueued once, as
 * pg-boss ignores a second send with the same id. A SHA-256 of the text laid out as a UUID
 * (version nibble 8, custom).
 */
export function deterministicJobId(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export type JobHandler<N extends JobName> = (data: JobTypes[N], job: { id: string; retryCount: number }) => Promise<void>;

export interface JobQueueOptions {
  connectionString: string;
  /** Poll interval of workers; pg-boss's minimum is 0.5 s. */
  pollingIntervalSeconds?: number;
  /** Every job's time to run before it is taken for dead and retried; unset = each name's own. */
  expireInSeconds?: number | null;
  /** How often dead jobs are looked for (and old ones archived); pg-boss's default is 120 s. */
  maintenanceIntervalSeconds?: number;
  onError?: (error: unknown) => void;
}

/**
 * A PostgreSQL-backed job queue (pg-boss). Jobs are enqueued in the same transaction as the row
 * they concern, with the row's id as the job id, so a rolled-back change leaves no job and a
 * retried enqueue is a no-op. Any API or worker process may work the queue.
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private starting: Promise<void> | undefined;
  private readonly workers = new Map<JobName, string[]>();

  constructor(private readonly options: JobQueueOptions) {
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: 'pgboss',
      max: 4,
      application_name: 'custodia-jobs',
      retryLimit: 3,
      retryDelay: 5,
      retryBackoff: true,
      expireInMinutes: 15,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 120,
    });
    this.boss.on('error', (error) => options.onError?.(error));
  }

  /** Creates pg-boss's schema and the queues (idempotent; safe with several instances and several callers). */
  start(): Promise<void> {
    this.starting ??= (async () => {
      await this.boss.start();
      for (const name of JOB_NAMES) {
        if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name).catch(async (error) => {
          if (!(await this.boss.getQueue(name))) throw error;
        });
      }
    })();
    return this.starting;
  }

  /** Enqueues inside `tx`; `id` must be a UUID (the concerned row's id makes it deterministic). */
  async enqueue<N extends JobName>(tx: EntityManager, name: N, data: JobTypes[N], id: string): Promise<void> {
    await this.boss.send(name, data, {
      id,
      expireInSeconds: this.options.expireInSeconds ?? EXPIRE_IN_SECONDS[name],
      db: { executeSql: async (text: string, values: unknown[]) => ({ rows: await tx.query(text, values) }) },
    });
  }

  /**
   * Works jobs of one name with `concurrency` workers, each taking one job at a time; a thrown
   * error makes pg-boss retry with back-off.
   */
  async work<N extends JobName>(name: N, handler: JobHandler<N>, concurrency = 1): Promise<void> {
    const ids = this.workers.get(name) ?? [];
    this.workers.set(name, ids);
    for (let worker = 0; worker < concurrency; worker++) {
      const id: string = await this.boss.work<JobTypes[N]>(
        name,
        { batchSize: 1, pollingIntervalSeconds: this.options.pollingIntervalSeconds ?? 2, includeMetadata: true },
        async (jobs) => {
          for (const job of jobs) await handler(job.data, { id: job.id, retryCount: job.retryCount });
          // pg-boss waits out the polling interval even after a job; a busy queue goes on at once.
          if (jobs.length) this.boss.notifyWorker(id);
        },
      );
      ids.push(id);
    }
  }

  /** Tells this process's idle workers of `name` to fetch now (after a commit that enqueued). */
  wake(name: JobName): void {
    for (const id of this.workers.get(name) ?? []) this.boss.notifyWorker(id);
  }

  async stop(): Promise<void> {
    if (!this.starting) return;
    await this.starting.catch(() => undefined);
    this.starting = undefined;
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000 });
  }
}
