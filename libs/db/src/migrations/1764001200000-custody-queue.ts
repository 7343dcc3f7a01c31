import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The custody log's queue (custody.md, "Rules"; issue 12): a business transaction records its
 * event here and commits without waiting for any other; the sequencer integrates queued events
 * into the tree in batches, each event exactly once. `entry` is the event as the action made it
 * (its `at` included), without the leaf index, which only integration gives it.
 *
 * The database itself keeps the queue honest: an entry is never changed, and it leaves the queue
 * only once an integrated event names it (`custody_events.queue_id`, unique: integrated at most
 * once). TRUNCATE is refused as on the log itself.
 */
export class CustodyQueue1764001200000 implements MigrationInterface {
  name = 'CustodyQueue1764001200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE custody_queue (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        entry text NOT NULL,
        queued_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`ALTER TABLE custody_events ADD COLUMN queue_id bigint`);
    await db.query(`CREATE UNIQUE INDEX custody_events_queue_id_key ON custody_events (queue_id) WHERE queue_id IS NOT NULL`);
    await db.query(`
      CREATE FUNCTION custody_queue_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM custody_events WHERE queue_id = OLD.id) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'a queued custody event is never changed, and leaves the queue only once integrated (%)', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`CREATE TRIGGER custody_queue_guard BEFORE UPDATE OR DELETE ON custody_queue
                      FOR EACH ROW EXECUTE FUNCTION custody_queue_guard()`);
    await db.query(`CREATE TRIGGER custody_queue_no_truncate BEFORE TRUNCATE ON custody_queue
                      FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(db: QueryRunner): Promise<void> {
    const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM custody_queue`);
    if (count > 0) throw new Error(`${count} custody events are still queued: start the archive once so they are integrated, then migrate down`);
    await db.query(`DROP TABLE custody_queue`);
    await db.query(`DROP FUNCTION custody_queue_guard()`);
    await db.query(`DROP INDEX custody_events_queue_id_key`);
    await db.query(`ALTER TABLE custody_events DROP COLUMN queue_id`);
  }
}
