import type { DataSource, QueryRunner } from 'typeorm';
import { MAX_BATCH, type CustodyLog, type IntegratedEvent, type RecordedEvent } from './custody-log.js';

/** Session advisory lock held by the elected sequencer of a database, for as long as it leads. */
const LEADER_LOCK = 'custodia.custody.sequencer';
/** LISTEN/NOTIFY channel by which any process asks the leader to integrate now. */
const CHANNEL = 'custody_queue';

/** TypeORM's PostgreSQL runner, with the node-postgres client under it. */
type PgQueryRunner = QueryRunner & {
  databaseConnection: { on(event: 'notification', listener: () => void): void; removeListener(event: 'notification', listener: () => void): void };
  releasePostgresConnection(error?: unknown): Promise<void>;
};
const clientOf = (runner: QueryRunner) => (runner as PgQueryRunner).databaseConnection;

export interface SequencerOptions {
  /** How long the leader waits between looks at the queue when nothing wakes it (ms). */
  intervalMs: number;
  /** How often a process that does not lead tries to (ms): how soon a dead leader is replaced. */
  electionMs: number;
  onError: (error: unknown) => void;
}

/**
 * The custody log's sequencer (custody.md, "Rules"; issue 12), as Trillian's: one per database,
 * elected by a session advisory lock, so any number of API and worker processes may run it and
 * a dead one is replaced when its connection goes. The leader integrates queued events in
 * batches of up to MAX_BATCH, one transaction each, as soon as it is woken (a local append's
 * receipt, or NOTIFY from another process) and at least every `intervalMs`.
 *
 * Correctness does not rest on the election: `CustodyLog.integrate` takes the append lock in its
 * own transaction, so a deposed leader that still runs, or a head asked for on demand, only
 * waits its turn.
 */
export class Sequencer {
  private runner: QueryRunner | null = null;
  private leading = false;
  private stopped = true;
  private loop: Promise<void> = Promise.resolve();
  private woken = false;
  private wakeUp: (() => void) | null = null;
  /**
   * Local receipt waiters, by queue id: resolved by the batch that integrates their event, or,
   * when something else integrated it, by the first batch begun after they were set (see run).
   */
  private readonly waiters = new Map<number, { resolve: (event: RecordedEvent) => void; since: number }>();
  /** Batches this process has begun as leader. */
  private batches = 0;

  constructor(
    private readonly db: DataSource,
    private readonly log: CustodyLog,
    private readonly options: SequencerOptions,
  ) {}

  /** Whether this process leads now. */
  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  /**
   * The event recorded as queue entry `queueId` once integrated, waiting at most `timeoutMs`
   * (CUSTODIA_RECEIPT_WAIT_MS for receipts); null if it is still queued by then. Call it after
   * the event's transaction committed.
   */
  async waitFor(queueId: number, timeoutMs: number): Promise<RecordedEvent | null> {
    if (this.leading) {
      const integrated = new Promise<RecordedEvent>((resolve) => this.waiters.set(queueId, { resolve, since: this.batches }));
      // It may have been integrated before the waiter was set.
      const already = await this.log.integratedAs(queueId);
      if (already) {
        this.waiters.delete(queueId);
        return already;
      }
      this.wake();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
      const outcome = await Promise.race([integrated, timedOut]);
      clearTimeout(timer);
      this.waiters.delete(queueId);
      // Leadership may have moved while waiting: look once more.
      return outcome ?? this.log.integratedAs(queueId);
    }
    await this.nudge();
    const deadline = Date.now() + timeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const event = await this.log.integratedAs(queueId);
      if (event || Date.now() >= deadline) return event;
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, deadline - Date.now())));
    }
  }

  /** Asks the leader, here or in another process, to integrate now. */
  async nudge(): Promise<void> {
    if (this.leading) this.wake();
    else await this.db.query(`SELECT pg_notify($1, '')`, [CHANNEL]);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.leading && !(await this.elect())) {
          await this.sleep(this.options.electionMs);
          continue;
        }
        const begun = ++this.batches;
        const batch = await this.log.integrate(MAX_BATCH, this.runner!.manager);
        this.settle(batch);
        // A full batch means more are waiting: go on at once.
        if (batch.length === MAX_BATCH) continue;
        await this.settleIntegratedElsewhere(begun);
        await this.sleep(this.options.intervalMs);
      } catch (error) {
        if (!this.stopped) this.options.onError(error);
        await this.resign();
        await this.sleep(this.options.electionMs);
      }
    }
    await this.resign();
  }

  /** Tries to take the leader's lock on a connection kept for as long as this process leads. */
  private async elect(): Promise<boolean> {
    const runner = this.db.createQueryRunner();
    try {
      const [{ ok }] = await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [LEADER_LOCK]);
      if (!ok) {
        await runner.release();
        return false;
      }
      clientOf(runner).on('notification', this.onNotification);
      await runner.query(`LISTEN ${CHANNEL}`);
      this.runner = runner;
      this.leading = true;
      return true;
    } catch (error) {
      await runner.release().catch(() => undefined);
      throw error;
    }
  }

  /** Gives up the lead: the lock and the LISTEN go with the session. */
  private async resign(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    this.leading = false;
    if (!runner) return;
    clientOf(runner).removeListener('notification', this.onNotification);
    try {
      await runner.query(`UNLISTEN ${CHANNEL}`);
      await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [LEADER_LOCK]);
      await runner.release();
    } catch (error) {
      // A broken connection: the pool closes it, which frees the lock.
      await (runner as PgQueryRunner).releasePostgresConnection(error).catch(() => undefined);
    }
  }

  private readonly onNotification = (): void => this.wake();

  private settle(batch: readonly IntegratedEvent[]): void {
    for (const { queueId, ...event } of batch) {
      const waiter = this.waiters.get(queueId);
      if (waiter) {
        this.waiters.delete(queueId);
        waiter.resolve(event);
      }
    }
  }

  /**
   * A head asked for (a receipt's, a court package's, the interval's), in this process or
   * another, integrates what is queued without the sequencer: its events never come in a batch
   * of ours. A waiter set before batch `begun` began (after its event committed) whose event that
   * batch, which emptied the queue, did not bring, was integrated so: it is looked up and
   * answered now, not when its wait runs out.
   */
  private async settleIntegratedElsewhere(begun: number): Promise<void> {
    const stale = [...this.waiters].filter(([, waiter]) => waiter.since < begun).map(([queueId]) => queueId);
    if (stale.length > 0) this.settle(await this.log.integratedAsMany(stale));
  }

  private wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
