import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import type { Actor } from './roles.js';

/**
 * The channel on which the database itself announces every change that can end or alter a
 * token's meaning: a token revoked, expired or deleted, an account changed, disabled or deleted
 * (triggers of migration 1764001500000, so a change made by any process, or by hand in SQL, is
 * announced).
 */
export const AUTH_CHANGED = 'custodia_auth';

/** How soon a lost subscription is tried again (ms). */
const RETRY_MS = 1000;
/** Tokens kept at most; beyond, the oldest goes. */
const MAX_ENTRIES = 10_000;
/** How long `sync` waits for its own notification before giving up (ms). */
const SYNC_TIMEOUT_MS = 5000;

interface Notification {
  channel: string;
  payload?: string;
}
interface PgClient {
  on(event: 'notification', listener: (message: Notification) => void): void;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
}
type PgQueryRunner = QueryRunner & { databaseConnection: PgClient; releasePostgresConnection(error?: unknown): Promise<void> };

/**
 * Resolved bearer tokens, kept in this process for at most `CUSTODIA_TOKEN_CACHE_S` seconds (and
 * never past the token's expiry), so an authenticated read does not look its token up in the
 * database each time (issue 12: a query per request was most of what an authenticated read cost
 * beyond `/health`). It caches only while it is subscribed to `AUTH_CHANGED`: every
 * notification empties it, and while the subscription is not there (before it is made, after its
 * connection was lost, until it is made again) nothing is cached and every request reads the
 * database. A change made by this process empties it as soon as it commits (`forget`), so this
 * process never answers with what it has itself just changed; another process's change reaches
 * it with the notification, milliseconds later.
 *
 * A request resolved from the database is cached only if nothing was announced while it read
 * (`generation`), so a read that began before a revocation cannot put the revoked token back.
 */
@Injectable()
export class TokenCache implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly entries = new Map<string, { actor: Actor; until: number }>();
  private generation = 0;
  private runner: PgQueryRunner | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly syncs = new Map<string, () => void>();
  private readonly ttlMs: number;
  private readonly logger = new Logger('TokenCache');

  constructor(
    private readonly db: DataSource,
    @Inject(CUSTODIA_CONFIG) config: Pick<CustodiaConfig, 'tokenCacheSeconds'>,
  ) {
    this.ttlMs = config.tokenCacheSeconds * 1000;
  }

  /** Whether tokens are being cached now (subscribed, and not turned off). */
  get active(): boolean {
    return this.runner !== null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.ttlMs > 0) await this.subscribe();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    for (const done of this.syncs.values()) done();
    await this.unsubscribe();
  }

  /** The cached caller of this token hash, if any. */
  get(tokenHash: Buffer): Actor | undefined {
    if (!this.runner) return undefined;
    const key = tokenHash.toString('base64');
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return { ...entry.actor };
    this.entries.delete(key);
    return undefined;
  }

  /** Taken before a token is read from the database, and handed back to `put`. */
  mark(): number {
    return this.generation;
  }

  /** Caches what the database said, unless something was announced since `mark`. */
  put(tokenHash: Buffer, actor: Actor, expiresAt: Date, mark: number): void {
    if (!this.runner || mark !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(tokenHash.toString('base64'), { actor: { ...actor }, until: Math.min(Date.now() + this.ttlMs, expiresAt.getTime()) });
  }

  /** Empties the cache: called after this process commits a change to accounts or tokens. */
  forget(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Awaits a change to accounts or tokens (committed or failed), then empties the cache. */
  async changing<T>(change: Promise<T>): Promise<T> {
    try {
      return await change;
    } finally {
      this.forget();
    }
  }

  /**
   * Resolves once every change committed before this call has been announced here (a
   * notification of its own, sent after them, has arrived: PostgreSQL delivers notifications in
   * commit order). For a change made outside this process that must be seen at once.
   */
  async sync(): Promise<void> {
    if (!this.runner) return;
    const id = randomUUID();
    const arrived = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        // No answer: stop trusting the cache until the subscription is made again.
        this.syncs.delete(id);
        void this.lost(new Error('a sync notification did not arrive'));
        resolve();
      }, SYNC_TIMEOUT_MS);
      this.syncs.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.db.query(`SELECT pg_notify($1, $2)`, [AUTH_CHANGED, `sync:${id}`]);
    await arrived;
  }

  private readonly onNotification = (message: Notification): void => {
    if (message.channel !== AUTH_CHANGED) return;
    this.forget();
    const payload = message.payload ?? '';
    if (payload.startsWith('sync:')) {
      const done = this.syncs.get(payload.slice(5));
      this.syncs.delete(payload.slice(5));
      done?.();
    }
  };

  private readonly onConnectionLost = (error?: unknown): void => void this.lost(error);

  private async subscribe(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    const runner = this.db.createQueryRunner() as PgQueryRunner;
    try {
      await runner.connect();
      const client = runner.databaseConnection;
      client.on('notification', this.onNotification);
      client.on('error', this.onConnectionLost);
      client.on('end', this.onConnectionLost);
      await runner.query(`LISTEN ${AUTH_CHANGED}`);
      if (this.stopped) return await this.close(runner);
      // Whatever changed while nobody listened is unknown: start empty.
      this.forget();
      this.runner = runner;
    } catch (error) {
      this.logger.warn(`not caching tokens: the subscription to ${AUTH_CHANGED} failed (${String(error)}); trying again`);
      this.detach(runner);
      await runner.releasePostgresConnection(error).catch(() => undefined);
      this.schedule();
    }
  }

  private async lost(error?: unknown): Promise<void> {
    const runner = this.runner;
    if (!runner) return;
    this.runner = null;
    this.forget();
    this.detach(runner);
    if (!this.stopped) this.logger.warn(`not caching tokens until the subscription to ${AUTH_CHANGED} is back: ${String(error ?? 'connection ended')}`);
    await runner.releasePostgresConnection(error ?? new Error('connection ended')).catch(() => undefined);
    this.schedule();
  }

  private schedule(): void {
    if (!this.stopped && !this.retry) this.retry = setTimeout(() => void this.subscribe(), RETRY_MS);
  }

  private detach(runner: PgQueryRunner): void {
    const client = runner.databaseConnection as PgClient | undefined;
    client?.removeListener('notification', this.onNotification);
    client?.removeListener('error', this.onConnectionLost);
    client?.removeListener('end', this.onConnectionLost);
  }

  private async unsubscribe(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    this.forget();
    if (runner) await this.close(runner);
  }

  private async close(runner: PgQueryRunner): Promise<void> {
    this.detach(runner);
    try {
      await runner.query(`UNLISTEN ${AUTH_CHANGED}`);
      await runner.release();
    } catch (error) {
      await runner.releasePostgresConnection(error).catch(() => undefined);
    }
  }
}
