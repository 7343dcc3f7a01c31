/**
 * A database failure at start, in a sentence saying what to correct; undefined for anything
 * that is not one (a bug, logged in full by the caller). The server's own words are kept: they
 * name the database, role or host.
 */
export function databaseStartFailure(error: unknown): string | undefined {
  const failure = databaseError(error);
  if (!failure) return undefined;
  const { code, message } = failure;
  const where = failure.address ? ` at ${failure.address}${failure.port ? `:${failure.port}` : ''}` : '';
  switch (code) {
    case 'ECONNREFUSED':
      return `the database server${where} refuses connections (ECONNREFUSED): start PostgreSQL, or correct DATABASE_URL.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the database host ${failure.hostname ?? ''} cannot be found (${code}): correct DATABASE_URL.`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the database server${where} does not answer (${code}): is it running and reachable, and is DATABASE_URL right?`;
    case '3D000':
      return `${message} (PostgreSQL): create it (createdb), or correct the database name in DATABASE_URL.`;
    case '28000':
    case '28P01':
      return `${message} (PostgreSQL): correct the role or password in DATABASE_URL.`;
    case '42501':
      return (
        `${message} (PostgreSQL): the role Custodia connected as lacks a right it needs. Migrations run as the schema's owner ` +
        '(CUSTODIA_MIGRATION_DATABASE_URL, or DATABASE_URL alone), who needs CREATEROLE to create the application role unless you create it; ' +
        'instances given DATABASE_URL alone need `custodia db migrate` run first with both. See the README, "Database roles".'
      );
  }
  return undefined;
}

interface DatabaseError {
  code: string;
  message: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** The codes worded above: Node's network codes and PostgreSQL's SQLSTATEs. */
const KNOWN = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', '3D000', '28000', '28P01', '42501']);

/** The network or PostgreSQL error inside what a start threw: itself, a driver error TypeORM wraps, or an AggregateError's first. */
function databaseError(error: unknown): DatabaseError | null {
  if (typeof error !== 'object' || error === null) return null;
  const candidate = error as Partial<DatabaseError> & { driverError?: unknown; errors?: unknown[] };
  if (typeof candidate.code === 'string' && KNOWN.has(candidate.code) && typeof candidate.message === 'string') return candidate as DatabaseError;
  if (candidate.driverError) return databaseError(candidate.driverError);
  if (Array.isArray(candidate.errors) && candidate.errors.length > 0) return databaseError(candidate.errors[0]);
  return null;
}
