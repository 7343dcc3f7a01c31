import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { StartupError } from '#custodia/errors';

/** The custody log's tables: append-only (custody.md), so the application reads and adds rows, nothing more. */
export const LOG_TABLES = ['custody_events', 'custody_nodes', 'custody_tree_heads', 'custody_head_timestamps', 'custody_key_handovers'] as const;

/** The role the embedded PostgreSQL's application sessions log in as (migrations run as `postgres`). */
export const EMBEDDED_APPLICATION_ROLE = 'custodia_app';

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

type Queryable = Pick<DataSource, 'query'>;

/**
 * Run by the role that owns the schema (the one that ran the migrations): gives the role of
 * `appUrl` what the archive does at run time and no more. Rows of every table, but of the custody
 * log only SELECT and INSERT; it owns none of the log's tables, so it cannot drop, truncate or
 * alter them nor switch off their append-only triggers ("the application's role has no right to
 * drop it", custody.md). The job queue's schema (pg-boss, which creates its own tables) is the
 * role's. Creates the role when missing, with `appUrl`'s password (DATABASE_URL's, or the
 * embedded cluster's); when the role exists but refuses that password (an operator rotated it in
 * the configuration), sets it, and answers true. Idempotent, run at every start so tables a new
 * migration made are covered.
 */
export function grantApplicationRights(owner: DataSource, appUrl: string): Promise<{ passwordSet: boolean }> {
  const url = new URL(appUrl);
  const role = decodeURIComponent(url.username);
  const password = url.password ? decodeURIComponent(url.password) : null;
  // One at a time, under the migrations' lock: instances starting together would otherwise
  // GRANT on the same rows at once ("tuple concurrently updated"), or set the password twice.
  return owner.transaction(async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['custodia.migrations']);
    const created = await grant(db, role, password);
    if (created || password === null || !(await refusesPassword(appUrl))) return { passwordSet: false };
    await db.query(`ALTER ROLE ${ident(role)} PASSWORD '${scramVerifier(password)}'`).catch((error: Error) => {
      throw new StartupError(
        `The role ${role} does not take DATABASE_URL's password, and the migrations' role cannot set it (${error.message}): ` +
          `give DATABASE_URL the role's password, or set it as the role's administrator (ALTER ROLE ${ident(role)} PASSWORD '...').`,
      );
    });
    return { passwordSet: true };
  });
}

/** Whether the server refuses `url`'s password (28P01); any other failure is left to the archive's own connection to report. */
async function refusesPassword(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return false;
  } catch (error) {
    return (error as { code?: string }).code === '28P01';
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Grants the rights; true when it created the role. */
async function grant(db: Queryable, role: string, password: string | null): Promise<boolean> {
  const [{ exists }] = await db.query(`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists`, [role]);
  if (!exists) {
    // CREATE ROLE takes no parameters: the password goes as its SCRAM verifier, so the password
    // itself is neither sent nor in any log of the server's (were the statement to fail).
    const secret = password === null ? '' : ` PASSWORD '${scramVerifier(password)}'`;
    await db.query(`CREATE ROLE ${ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE${secret}`);
  }
  const [{ database }] = await db.query(`SELECT current_database() AS database`);
  await db.query(`GRANT CONNECT, TEMPORARY, CREATE ON DATABASE ${ident(database)} TO ${ident(role)}`);
  await db.query(`GRANT USAGE ON SCHEMA public TO ${ident(role)}`);
  await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${ident(role)}`);
  await db.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${ident(role)}`);
  await db.query(`REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${LOG_TABLES.join(', ')} FROM ${ident(role)}`);
  // An archive that ran as the owner before (or a queue schema the owner made) hands the queue
  // over: pg-boss adds a partition per queue, which takes ownership of its tables.
  const [{ queue }] = await db.query(`SELECT to_regnamespace('pgboss') IS NOT NULL AS queue`);
  // No queue schema yet: the role creates it at its first start.
  if (!queue) return !exists;
  const queueObjects: { kind: string; name: string }[] = await db.query(
    `SELECT 'SCHEMA' AS kind, quote_ident(n.nspname) AS name FROM pg_namespace n
      WHERE n.nspname = 'pgboss' AND n.nspowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
     UNION ALL
     SELECT 'TABLE', 'pgboss.' || quote_ident(c.relname) FROM pg_class c
      WHERE c.relnamespace = 'pgboss'::regnamespace AND c.relkind IN ('r', 'p')
        AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
     UNION ALL
     SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'pgboss'::regnamespace AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)`,
    [role],
  );
  for (const { kind, name } of queueObjects) {
    await db.query(`ALTER ${kind} ${name} OWNER TO ${ident(role)}`).catch((error: Error) => {
      // A non-superuser owner may only give away what it could take back (PostgreSQL's rule).
      throw new StartupError(
        `The job queue's schema pgboss must belong to ${role}, and the migrations' role cannot hand ${name} over (${error.message}): ` +
          `run GRANT ${ident(role)} TO CURRENT_USER as that role's administrator once, or start once with a superuser as CUSTODIA_MIGRATION_DATABASE_URL.`,
      );
    });
  }
  return !exists;
}

/**
 * Why the session's own role could drop or rewrite the custody log (null when it cannot): it is a
 * superuser, owns a log table, or may UPDATE, DELETE or TRUNCATE one.
 */
export async function logRewritableBy(db: Queryable): Promise<string | null> {
  const [row] = await db.query(
    `SELECT current_user AS role, r.rolsuper AS superuser,
            coalesce(array_agg(t.table_name::text) FILTER (WHERE pg_get_userbyid(c.relowner) = current_user), '{}') AS owned,
            bool_or(has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE')) AS writable
       FROM pg_roles r, unnest($1::text[]) AS t(table_name)
       JOIN pg_class c ON c.oid = to_regclass(t.table_name)
      WHERE r.rolname = current_user
      GROUP BY current_user, r.rolsuper`,
    [LOG_TABLES],
  );
  if (!row) return null;
  if (row.superuser) return `the database role ${row.role} is a superuser`;
  if (row.owned.length) return `the database role ${row.role} owns ${row.owned.join(', ')}`;
  if (row.writable) return `the database role ${row.role} may update, delete or truncate the custody log's rows`;
  return null;
}

/** A SCRAM-SHA-256 verifier of `password` as PostgreSQL stores it (RFC 5802, RFC 7677; 4096 rounds, PostgreSQL's default). */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  // SASLprep's mapping, as far as it matters for passwords: compatibility normalisation.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
