import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '#custodia/auth';
import type { CasesService } from '#custodia/cases';
import { CustodyLog } from '#custodia/custody';
import { createDataSource } from '#custodia/db';
import { forbidden } from '#custodia/errors';
import { parseWith } from '#custodia/schema';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { CasualtiesRepository } from './casualties/casualties.repository.js';
import { CasualtiesService } from './casualties/casualties.service.js';
import { CreateCasualtyBody, PatchCasualtyBody } from './casualties/casualty.schema.js';
import { DamageRepository } from './damage/damage.repository.js';
import { CreateDamageBody, PatchDamageBody } from './damage/damage.schema.js';
import { DamageService } from './damage/damage.service.js';
import { IncidentsRepository } from './incidents/incidents.repository.js';
import { RecordChanges, recordHash } from './record-change.js';
import { Vocabularies } from './vocabularies/vocabularies.repository.js';

/**
 * The change recipe (RecordChanges) on a real PostgreSQL, through two of the aggregates that
 * use it: each change is one custody event with its reason and both hashes; a change that alters
 * nothing records nothing; a refused change writes nothing at all.
 */
describe('the records change recipe in PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let damage: DamageService;
  let casualties: CasualtiesService;
  let actor: Actor;
  let caseId: string;
  let incidentId: string;
  /** The case check the services ask for; a test may make it refuse. */
  let refuse = false;

  const cases = {
    assertMay: async () => {
      if (refuse) throw forbidden('not this time');
    },
  } as unknown as CasesService;

  interface EventRow {
    action: string;
    event: { reason: string | null; details: Record<string, unknown>; subject: { sha256: string } };
  }
  // Integrated as the sequencer would: the log as it stands once every committed event is in.
  const integrated = () => new CustodyLog(ds).integrateAll();
  const eventsAbout = async (id: string): Promise<EventRow[]> => {
    await integrated();
    const rows = await db.superuserQuery<{ action: string; event: string }>(
      `SELECT action, convert_from(event_bytes, 'UTF8') AS event FROM custody_events WHERE subject_id = $1 ORDER BY leaf_index`,
      [id],
    );
    return rows.map((row) => ({ action: row.action, event: JSON.parse(row.event) }));
  };
  const damageRow = async (id: string) => (await db.superuserQuery<{ record: Record<string, unknown>; updated_at: Date }>(`SELECT record, updated_at FROM damage_records WHERE id = $1`, [id]))[0]!;
  const eventCount = async () => {
    await integrated();
    return (await db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM custody_events`))[0]!.n;
  };
  const createDamage = (body: unknown) => damage.record(actor, incidentId, parseWith(CreateDamageBody, body));
  const amendDamage = (id: string, body: unknown) => damage.amend(actor, id, parseWith(PatchDamageBody, body));

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource(db.url, [], { poolSize: 6 });
    await ds.initialize();
    const [user] = await ds.query(`INSERT INTO users (email, display_name, role, password_hash) VALUES ('rc@test', 'rc', 'investigator', 'x') RETURNING id`);
    actor = { id: user.id, role: 'investigator', email: 'rc@test', displayName: 'rc', tokenId: 't' } as Actor;
    caseId = (await ds.query(`INSERT INTO cases (title, created_by) VALUES ('recipe', $1) RETURNING id`, [user.id]))[0].id;
    incidentId = (
      await ds.query(
        `INSERT INTO incidents (case_id, code, record, type, start_at, verification_status, created_by)
         VALUES ($1, 'INC-0001', '{}', 'air_drone_strike', now(), 'reported', $2) RETURNING id`,
        [caseId, user.id],
      )
    )[0].id;
    const changes = new RecordChanges(ds, new CustodyLog(ds), new Vocabularies(ds));
    const incidents = new IncidentsRepository(ds);
    damage = new DamageService(new DamageRepository(ds), incidents, cases, changes);
    casualties = new CasualtiesService(new CasualtiesRepository(ds), incidents, cases, changes, Buffer.alloc(32, 7));
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('a creation is one event: the reason, no previous hash, the hash of the stored record, every field set', async () => {
    const created = await createDamage({ damageLevel: 'severe', objectName: 'School No. 134', reason: 'field visit' });
    const events = await eventsAbout(created.id);
    expect(events.map((e) => e.action)).toEqual(['damage.recorded']);
    const { record } = await damageRow(created.id);
    expect(events[0]!.event.reason).toBe('field visit');
    expect(events[0]!.event.details).toMatchObject({ incidentId, previousSha256: null, newSha256: recordHash(record) });
    expect(events[0]!.event.subject.sha256).toBe(recordHash(record));
    expect(events[0]!.event.details['fields']).toEqual(expect.arrayContaining(['damageLevel', 'objectName', 'status']));
  });

  it('an update is one event naming the changed fields, chained to the previous version by its hash', async () => {
    const created = await createDamage({ damageLevel: 'moderate' });
    const before = await damageRow(created.id);
    await amendDamage(created.id, { damageLevel: 'destroyed', reason: 'collapsed overnight' });
    const events = await eventsAbout(created.id);
    expect(events.map((e) => e.action)).toEqual(['damage.recorded', 'damage.updated']);
    expect(events[1]!.event).toMatchObject({
      reason: 'collapsed overnight',
      details: { fields: ['damageLevel'], previousSha256: recordHash(before.record), newSha256: recordHash((await damageRow(created.id)).record) },
    });
    expect(events[1]!.event.details['previousSha256']).toBe(events[0]!.event.details['newSha256']);
  });

  it('a change that alters nothing records nothing and writes nothing', async () => {
    const created = await createDamage({ damageLevel: 'possible' });
    const before = await damageRow(created.id);
    const count = await eventCount();
    await amendDamage(created.id, { damageLevel: 'possible', reason: 'checked again' });
    expect(await eventCount()).toBe(count);
    expect((await damageRow(created.id)).updated_at).toEqual(before.updated_at);
  });

  it('a refused change writes nothing: unknown code (422), a source of no case (422), a caller refused (403)', async () => {
    const created = await createDamage({ damageLevel: 'moderate' });
    const before = await damageRow(created.id);
    const count = await eventCount();
    const records = async () => (await db.superuserQuery<{ n: number }>(`SELECT count(*)::int AS n FROM damage_records`))[0]!.n;
    const recordsBefore = await records();
    await expect(amendDamage(created.id, { damageLevel: 'obliterated', reason: 'x' })).rejects.toMatchObject({
      kind: 'unprocessable',
      fields: [{ field: 'damageLevel', message: 'obliterated is not a code of the damage_level vocabulary' }],
    });
    await expect(amendDamage(created.id, { sources: [{ evidenceId: randomUUID() }], reason: 'x' })).rejects.toMatchObject({
      fields: [{ field: 'sources[0].evidenceId', message: expect.any(String) }],
    });
    refuse = true;
    try {
      await expect(amendDamage(created.id, { damageLevel: 'destroyed', reason: 'x' })).rejects.toThrow('not this time');
      await expect(createDamage({ damageLevel: 'destroyed' })).rejects.toThrow('not this time');
    } finally {
      refuse = false;
    }
    expect(await eventCount()).toBe(count);
    expect(await damageRow(created.id)).toEqual(before);
    expect(await records()).toBe(recordsBefore);
  });

  it('concurrent changes of one record are serialised by its lock: each event chains to the one before', async () => {
    const created = await createDamage({ damageLevel: 'possible' });
    const levels = ['moderate', 'severe', 'destroyed', 'none_visible', 'possible', 'moderate'];
    await Promise.all(levels.map((level, i) => amendDamage(created.id, { damageLevel: level, objectName: `pass ${i}`, reason: `pass ${i}` })));
    const events = await eventsAbout(created.id);
    expect(events).toHaveLength(levels.length + 1);
    for (let i = 1; i < events.length; i++) expect(events[i]!.event.details['previousSha256']).toBe(events[i - 1]!.event.details['newSha256']);
    expect(events[events.length - 1]!.event.details['newSha256']).toBe(recordHash((await damageRow(created.id)).record));
  });

  it('a casualty record whose names alone change records one event (namesChanged), its names never in the log', async () => {
    const created = await casualties.record(actor, incidentId, parseWith(CreateCasualtyBody, { harmStatus: 'killed', fullName: 'Іван Сірко' }));
    await casualties.amend(actor, created.id, parseWith(PatchCasualtyBody, { fullName: 'Іван Дмитрович Сірко', reason: 'ID document' }));
    await casualties.amend(actor, created.id, parseWith(PatchCasualtyBody, { fullName: 'Іван Дмитрович Сірко', reason: 'same again' }));
    const events = await eventsAbout(created.id);
    expect(events.map((e) => e.action)).toEqual(['casualty.recorded', 'casualty.updated']);
    expect(events[0]!.event.details).toMatchObject({ namesRecorded: true });
    expect(events[1]!.event.details).toMatchObject({ fields: [], namesChanged: true });
    expect(events[1]!.event.details['previousSha256']).not.toBe(events[1]!.event.details['newSha256']);
    expect(JSON.stringify(events)).not.toContain('Сірко');
  });
});
