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

/**
 * Progressive slowdown of password guessing, shared by every API instance through the
 * database. It is keyed by (account, address), so a stranger guessing from one address slows
 * only themselves and never locks the owner out from another; and by address alone, so one
 * address cannot spray a password over many accounts. An attempt is counted as a failure
 * before the password is checked (so parallel guesses cannot slip past the count) and that
 * mark is cleared, with the pair's other failures, when the password turns out right.
 */
export class LoginThrottle {
  constructor(
    private readonly db: DataSource,
    private readonly rule: LoginThrottleRule,
  ) {}

  /** Admits one attempt for the account from the address (marking it failed until `succeeded`), or throws 429. */
  async admit(emailKey: string, clientIp: string): Promise<void> {
    const memory = Math.max(LOGIN_FAILURE_MEMORY_SECONDS, this.rule.maxDelaySeconds);
    await this.db.transaction(async (tx) => {
      // Attempts from one address are admitted one at a time (a short lock: no password is checked under it).
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('custodia.login-throttle'), hashtext($1))`, [clientIp]);
      const [row]: {
        pair_failures: number;
        since_pair_failure: number | null;
        address_failures: number;
        address_wait: number | null;
      }[] = await tx.query(
        `SELECT count(*) FILTER (WHERE email_key = $1)::int AS pair_failures,
                extract(epoch FROM now() - max(at) FILTER (WHERE email_key = $1))::float8 AS since_pair_failure,
                count(*) FILTER (WHERE at > now() - make_interval(secs => $3))::int AS address_failures,
                extract(epoch FROM min(at) FILTER (WHERE at > now() - make_interval(secs => $3))
                                   + make_interval(secs => $3) - now())::float8 AS address_wait
           FROM login_failures
          WHERE client_ip = $2 AND at > now() - make_interval(secs => $4)`,
        [emailKey, clientIp, this.rule.maxDelaySeconds, memory],
      );
      const pairWait = loginDelaySeconds(row!.pair_failures, this.rule) - (row!.since_pair_failure ?? Infinity);
      const addressWait = row!.address_failures >= this.rule.addressFailures ? (row!.address_wait ?? 1) : 0;
      const wait = Math.max(pairWait, addressWait);
      if (wait > 0) throw tooMany(Math.max(1, Math.ceil(wait)));
      await tx.query(`INSERT INTO login_failures (email_key, client_ip) VALUES ($1, $2)`, [emailKey, clientIp]);
    });
  }

  /** The password was right: that pair's failures are forgotten (other addresses keep theirs). */
  async succeeded(emailKey: string, clientIp: string): Promise<void> {
    await this.db.query(`DELETE FROM login_failures WHERE email_key = $1 AND client_ip = $2`, [emailKey, clientIp]);
    await this.db.query(`DELETE FROM login_failures WHERE at < now() - make_interval(secs => $1)`, [
      Math.max(LOGIN_FAILURE_MEMORY_SECONDS, this.rule.maxDelaySeconds),
    ]);
  }
}
