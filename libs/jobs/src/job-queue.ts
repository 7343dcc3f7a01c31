import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import pg from 'pg';
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
  /** How often this process looks for jobs whose process died (no lease), and how old they must be; default 30 s. */
  orphanCheckSeconds?: number;
  onError?: (error: unknown) => void;
}

/** The advisory lock a job's lease is, held by the process running it on its lease connection. */
const leaseKey = (jobId: string): string => `custodia.job:${jobId}`;

/**
 * Leases of the jobs this process runs: a session advisory lock per job on one connection of its
 * own, held while the job's handler runs. The lock goes with the session, so a job that is
 * active while nobody holds its lease lost its process (killed, crashed, its machine gone).
 */
class JobLeases {
  private client: Promise<pg.Client> | null = null;
  /** The lease connection's last statement: one at a time, as node-postgres wants of a client (pg 9 refuses overlapping queries). */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly connectionString: string) {}

  private connection(): Promise<pg.Client> {
    this.client ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString, application_name: 'custodia-job-leases' });
      // A lost connection loses its leases: the next job opens another one.
      client.on('error', () => {
        this.client = null;
        client.end().catch(() => undefined);
      });
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      this.client = null;
      throw error;
    });
    return this.client;
  }

  /** Runs `work` holding the job's lease; without a lease (no connection) the job is not run, and pg-boss retries it. */
  async holding<T>(jobId: string, work: () => Promise<T>): Promise<T> {
    const client = await this.connection();
    await this.query(client, 'SELECT pg_advisory_lock(hashtextextended($1, 0))', [leaseKey(jobId)]);
    try {
      return await work();
    } finally {
      await this.query(client, 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', [leaseKey(jobId)]).catch(() => undefined);
    }
  }

  /** A statement on the lease connection once the one before it is answered (jobs start and end at once). */
  private query(client: pg.Client, sql: string, params: unknown[]): Promise<unknown> {
    const answered = this.last.then(() => client.query(sql, params));
    this.last = answered.catch(() => undefined);
    return answered;
  }

  async close(): Promise<void> {
    const client = await this.client?.catch(() => null);
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

/** Where a completion pg-boss does not wait for failed is reported: the JobQueues started, by their onError. */
const completionReporters = new Set<(error: unknown) => void>();

/**
 * pg-boss 10's worker completes or fails each job without waiting for it (manager.js, `onFetch`:
 * `this.complete(...)`, `this.fail(...)`): when the database connection is cut at that moment,
 * the rejection is heard by nobody and Node ends the process (an outside crash audit: both API
 * instances, then a worker, exited on pg_terminate_backend). Each such promise gets a handler that
 * reports the error; callers that wait for it still see it. The job stays active and is handed
 * back by reclaimOrphans (or retried at its expiry), as when its process dies.
 */
function hearCompletions(): void {
  const manager = (createRequire(import.meta.url)('pg-boss/src/manager.js') as { prototype: Record<string, unknown> }).prototype;
  for (const method of ['complete', 'fail']) {
    const original = manager[method] as ((...args: unknown[]) => Promise<unknown>) & { heard?: true };
    if (original.heard) continue;
    const heard = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const settled = original.apply(this, args);
      settled.catch((error: unknown) => {
        for (const report of completionReporters) report(error);
      });
      return settled;
    };
    // Under its own name: PgBoss publishes the manager's functions by their `name` (boss.fail...).
    Object.defineProperty(heard, 'name', { value: method });
    manager[method] = Object.assign(heard, { heard: true as const });
  }
}
hearCompletions();

/**
 * A PostgreSQL-backed job queue (pg-boss). Jobs are enqueued in the same transaction as the row
 * they concern, with the row's id as the job id, so a rolled-back change leaves no job and a
 * retried enqueue is a no-op. Any API or worker process may work the queue. A job whose process
 * died is handed back to the queue within a minute (`reclaimOrphans`), not after its expiry
 * (hours for a package): every process working the queue looks for them.
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private starting: Promise<void> | undefined;
  private readonly workers = new Map<JobName, string[]>();
  private readonly leases: JobLeases;
  private orphanTimer: NodeJS.Timeout | undefined;
  private readonly reportCompletion: (error: unknown) => void;

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
    this.reportCompletion = (error) => options.onError?.(error);
    this.leases = new JobLeases(options.connectionString);
  }

  /** Creates pg-boss's schema and the queues (idempotent; safe with several instances and several callers). */
  start(): Promise<void> {
    this.starting ??= (async () => {
      completionReporters.add(this.reportCompletion);
      await this.boss.start();
      for (const name of JOB_NAMES) await this.createQueue(name);
    })();
    return this.starting;
  }

  /**
   * Creates a queue unless another process did: processes starting together on a new database
   * (two APIs and a worker) create the same queues at once, which PostgreSQL may answer with a
   * deadlock for one of them; that one tries again, a few times, after a short wait.
   */
  private async createQueue(name: JobName): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (await this.boss.getQueue(name)) return;
      try {
        await this.boss.createQueue(name);
        return;
      } catch (error) {
        if (await this.boss.getQueue(name)) return;
        if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400));
      }
    }
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
          for (const job of jobs) await this.leases.holding(job.id, () => handler(job.data, { id: job.id, retryCount: job.retryCount }));
          // pg-boss waits out the polling interval even after a job; a busy queue goes on at once.
          if (jobs.length) this.boss.notifyWorker(id);
        },
      );
      ids.push(id);
    }
    if (!this.orphanTimer) {
      const every = (this.options.orphanCheckSeconds ?? 30) * 1000;
      const check = () => void this.reclaimOrphans().catch((error: unknown) => this.options.onError?.(error));
      this.orphanTimer = setInterval(check, every);
      this.orphanTimer.unref();
      setTimeout(check, Math.min(every, 5000)).unref();
    }
  }

  /**
   * Hands back to the queue (as a failure, so pg-boss retries it after its delay) every job that
   * has been active for a while with nobody holding its lease: its process died. Several
   * processes may look at once; each job is handed back once (the check and the failure run
   * under one lock, and only while the job is still the run that was found). Returns how many.
   */
  async reclaimOrphans(): Promise<number> {
    const olderThan = this.options.orphanCheckSeconds ?? 30;
    // The candidates through pg-boss's own pool; a connection of its own only when there are some.
    // started_on as text: its microseconds identify the run (a Date would keep milliseconds only).
    const { rows } = (await this.boss.getDb().executeSql(
      `SELECT id, name, started_on::text FROM pgboss.job
        WHERE state = 'active' AND name = ANY ($1::text[]) AND started_on < now() - make_interval(secs => $2)`,
      [JOB_NAMES, olderThan],
    )) as { rows: { id: string; name: string; started_on: string }[] };
    if (rows.length === 0) return 0;
    const client = new pg.Client({ connectionString: this.options.connectionString, application_name: 'custodia-job-reaper' });
    client.on('error', () => undefined);
    await client.connect();
    let reclaimed = 0;
    try {
      for (const job of rows) {
        await client.query('BEGIN');
        try {
          await client.query(`SELECT pg_advisory_xact_lock(hashtext('custodia.job-reaper'))`);
          const { rows: free } = await client.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS free', [leaseKey(job.id)]);
          const { rows: same } = await client.query(`SELECT 1 FROM pgboss.job WHERE id = $1 AND name = $2 AND state = 'active' AND started_on::text = $3`, [job.id, job.name, job.started_on]);
          if (free[0]!.free && same.length === 1) {
            await this.boss.fail(job.name, job.id, { message: 'its process ended while it ran (no lease): handed back to the queue' }, {
              db: { executeSql: async (text: string, values: unknown[]) => client.query(text, values as unknown[]) },
            });
            reclaimed++;
          }
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    return reclaimed;
  }

  /** Tells this process's idle workers of `name` to fetch now (after a commit that enqueued). */
  wake(name: JobName): void {
    for (const id of this.workers.get(name) ?? []) this.boss.notifyWorker(id);
  }

  async stop(): Promise<void> {
    clearInterval(this.orphanTimer);
    this.orphanTimer = undefined;
    if (!this.starting) return;
    await this.starting.catch(() => undefined);
    this.starting = undefined;
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000 });
    await this.leases.close();
    completionReporters.delete(this.reportCompletion);
  }
}
