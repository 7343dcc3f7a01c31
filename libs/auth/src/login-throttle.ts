import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { tooManyRequests, type DomainError } from '#custodia/errors';

/** How failed logins slow later attempts (README, CUSTODIA_LOGIN_*). */
export interface LoginThrottleRule {
  /** Failures of one account from one address that cost nothing; each one past them doubles the wait. */
  freeFailures: number;
  /** The longest wait of an account from one address, and the window of the per-address limit (seconds). */
  maxDelaySeconds: number;
  /** Failures from one address, over every account, within `maxDelaySeconds` before that address waits. */
  addressFailures: number;
}

/** Failures are forgotten a day after they happened (or at once on a success of that pair). */
export const LOGIN_FAILURE_MEMORY_SECONDS = 86_400;

/**
 * The wait, in seconds after the last failure, before the next attempt for one account from
 * one address: none for the first `freeFailures`, then 1 s, 2 s, 4 s... up to `maxDelaySeconds`.
 */
export function loginDelaySeconds(failures: number, rule: Pick<LoginThrottleRule, 'freeFailures' | 'maxDelaySeconds'>): number {
  if (failures < rule.freeFailures) return 0;
  return Math.min(rule.maxDelaySeconds, 2 ** Math.min(failures - rule.freeFailures, 30));
}

const tooMany = (retryAfterSeconds: number): DomainError =>
  tooManyRequests('Too many failed logins from this address; wait before trying again', retryAfterSeconds);

/** How long an attempt may stay pending (its password being checked) before it counts as a failure: its process died. */
export const PENDING_ATTEMPT_SECONDS = 60;

/** How long an attempt waits for the pending attempts ahead of it to settle before it is refused. */
const SETTLE_WAIT_MS = 10_000;
const SETTLE_POLL_MS = 50;

/** An admitted attempt: `failed` or `succeeded` settles it. */
export interface LoginAttempt {
  id: string;
}

/**
 * Progressive slowdown of password guessing, shared by every API instance through the
 * database. It is keyed by (account, address), so a stranger guessing from one address slows
 * only themselves and never locks the owner out from another; and by address alone, so one
 * address cannot spray a password over many accounts. An attempt is marked before the password
 * is checked (pending), and settles as a failure (`failed`) or is forgotten with the pair's
 * failures (`succeeded`). An attempt that would be refused were the pending ones ahead of it
 * failures waits for them to settle: parallel guesses gain nothing over sequential ones, and
 * parallel right passwords (a console in several tabs, an app retrying) all get in.
 */
export class LoginThrottle {
  constructor(
    private readonly db: DataSource,
    private readonly rule: LoginThrottleRule,
  ) {}

  /** Admits one attempt for the account from the address (pending until settled), or throws 429. */
  async admit(emailKey: string, clientIp: string): Promise<LoginAttempt> {
    for (const deadline = Date.now() + SETTLE_WAIT_MS; ; ) {
      const decision = await this.decide(emailKey, clientIp);
      if (typeof decision === 'object') return decision;
      if (decision > 0) throw tooMany(decision);
      if (Date.now() >= deadline) throw tooMany(1);
      await sleep(SETTLE_POLL_MS);
    }
  }

  /** The password was wrong: the attempt is a failure. */
  async failed(attempt: LoginAttempt): Promise<void> {
    await this.db.query(`UPDATE login_failures SET settled = true WHERE id = $1`, [attempt.id]);
  }

  /** The password was right: that pair's failures are forgotten (other addresses keep theirs). */
  async succeeded(emailKey: string, clientIp: string, attempt: LoginAttempt): Promise<void> {
    await this.db.query(`DELETE FROM login_failures WHERE id = $3 OR (email_key = $1 AND client_ip = $2 AND settled)`, [emailKey, clientIp, attempt.id]);
    await this.db.query(`DELETE FROM login_failures WHERE at < now() - make_interval(secs => $1)`, [
      Math.max(LOGIN_FAILURE_MEMORY_SECONDS, this.rule.maxDelaySeconds),
    ]);
  }

  /**
   * Admits the attempt (its mark), or says how long it must wait (seconds, a 429), or 0: it
   * would have to wait were the pending attempts ahead of it failures, so it asks again shortly.
   */
  private async decide(emailKey: string, clientIp: string): Promise<LoginAttempt | number> {
    const memory = Math.max(LOGIN_FAILURE_MEMORY_SECONDS, this.rule.maxDelaySeconds);
    return this.db.transaction(async (tx) => {
      // Attempts from one address are admitted one at a time (a short lock: no password is checked under it).
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('custodia.login-throttle'), hashtext($1))`, [clientIp]);
      // clock_timestamp(), not now(): the transaction may have waited for the lock.
      const [row]: {
        pair_failures: number;
        pair_pending: number;
        since_pair_failure: number | null;
        address_failures: number;
        address_pending: number;
        address_wait: number | null;
      }[] = await tx.query(
        `WITH marks AS (
           SELECT email_key, at, settled OR at < clock_timestamp() - make_interval(secs => $5) AS failure
             FROM login_failures
            WHERE client_ip = $2 AND at > clock_timestamp() - make_interval(secs => $4)
         )
         SELECT count(*) FILTER (WHERE email_key = $1 AND failure)::int AS pair_failures,
                count(*) FILTER (WHERE email_key = $1 AND NOT failure)::int AS pair_pending,
                extract(epoch FROM clock_timestamp() - max(at) FILTER (WHERE email_key = $1 AND failure))::float8 AS since_pair_failure,
                count(*) FILTER (WHERE failure AND at > clock_timestamp() - make_interval(secs => $3))::int AS address_failures,
                count(*) FILTER (WHERE NOT failure)::int AS address_pending,
                extract(epoch FROM min(at) FILTER (WHERE failure AND at > clock_timestamp() - make_interval(secs => $3))
                                   + make_interval(secs => $3) - clock_timestamp())::float8 AS address_wait
           FROM marks`,
        [emailKey, clientIp, this.rule.maxDelaySeconds, memory, PENDING_ATTEMPT_SECONDS],
      );
      const r = row!;
      const wait = (pairFailures: number, sincePairFailure: number, addressFailures: number): number =>
        Math.max(
          loginDelaySeconds(pairFailures, this.rule) - sincePairFailure,
          addressFailures >= this.rule.addressFailures ? (r.address_wait ?? this.rule.maxDelaySeconds) : 0,
        );
      const now = wait(r.pair_failures, r.since_pair_failure ?? 0, r.address_failures);
      if (now > 0) return Math.max(1, Math.ceil(now));
      // Were the pending ones failures (the last of them failing now), would this one wait? Then
      // it waits for them to settle.
      const ifPendingFailed = wait(r.pair_failures + r.pair_pending, r.pair_pending > 0 ? 0 : (r.since_pair_failure ?? 0), r.address_failures + r.address_pending);
      if (ifPendingFailed > 0) return 0;
      const [mark]: { id: string }[] = await tx.query(`INSERT INTO login_failures (email_key, client_ip, at, settled) VALUES ($1, $2, clock_timestamp(), false) RETURNING id`, [
        emailKey,
        clientIp,
      ]);
      return { id: mark!.id };
    });
  }
}
