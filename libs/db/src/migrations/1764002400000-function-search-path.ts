import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every function of the archive's schema runs with that schema on its search path, whoever calls
 * it. pg_restore runs with an empty search path: `remnant_marking_skeleton`, which a generated
 * column of `remnants` calls, called `marking_skeleton` unqualified, so a restored dump lost the
 * whole table (CREATE TABLE failed, and the archive started without it). Functions of extensions
 * (pg_trgm's) are theirs to set. Later migrations that create a function set it the same way
 * (`functionsWithoutSearchPath` finds any that do not).
 */
export class FunctionSearchPath1764002400000 implements MigrationInterface {
  name = 'FunctionSearchPath1764002400000';

  async up(db: QueryRunner): Promise<void> {
    for (const { signature } of await db.query(FUNCTIONS_WITHOUT_SEARCH_PATH)) {
      await db.query(`ALTER FUNCTION ${signature} SET search_path = "${await schema(db)}", pg_catalog`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    for (const { signature } of await db.query(OUR_FUNCTIONS)) await db.query(`ALTER FUNCTION ${signature} RESET search_path`);
  }
}

async function schema(db: QueryRunner): Promise<string> {
  return (await db.query(`SELECT current_schema() AS name`))[0].name;
}

/** The schema's own functions (not an extension's), as `name(argument types)`. */
const OUR_FUNCTIONS = `
  SELECT p.oid::regprocedure::text AS signature, p.proconfig AS config
    FROM pg_proc p
   WHERE p.pronamespace = current_schema()::regnamespace
     AND p.prokind = 'f'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`;

/** Those of them that do not set their search path. */
export const FUNCTIONS_WITHOUT_SEARCH_PATH = `
  SELECT signature FROM (${OUR_FUNCTIONS}) f
   WHERE NOT EXISTS (SELECT 1 FROM unnest(coalesce(f.config, '{}')) c WHERE c LIKE 'search_path=%')`;
