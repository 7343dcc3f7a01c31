import type { MigrationInterface, QueryRunner } from 'typeorm';

/** One seeded term: vocabulary, code, English label, Ukrainian label. */
type Term = [vocabulary: string, code: string, en: string, uk: string];

/** The vocabularies of munition remnants (data-model.md, MunitionRemnant), version 1. */
const TERMS: Term[] = [
  ['munition_component', 'airframe', 'Airframe', 'Планер (корпус)'],
  ['munition_component', 'warhead', 'Warhead', 'Бойова частина'],
  ['munition_component', 'engine', 'Engine', 'Двигун'],
  ['munition_component', 'fuel_system', 'Fuel system', 'Паливна система'],
  ['munition_component', 'navigation', 'Navigation', 'Навігація'],
  ['munition_component', 'navigation.gnss_receiver', 'GNSS receiver', 'Приймач ГНСС'],
  ['munition_component', 'navigation.crpa_antenna', 'CRPA antenna (controlled reception pattern)', 'Антена CRPA (адаптивна антенна решітка)'],
  ['munition_component', 'navigation.inertial', 'Inertial navigation unit', 'Інерціальний навігаційний блок'],
  ['munition_component', 'flight_controller', 'Flight controller', 'Польотний контролер'],
  ['munition_component', 'servo', 'Servo', 'Сервопривід'],
  ['munition_component', 'power', 'Power', 'Електроживлення'],
  ['munition_component', 'power.battery', 'Battery', 'Акумуляторна батарея'],
  ['munition_component', 'power.generator', 'Generator', 'Генератор'],
  ['munition_component', 'datalink', 'Datalink', 'Канал зв’язку'],
  ['munition_component', 'datalink.modem', 'Modem', 'Модем'],
  ['munition_component', 'datalink.sim', 'SIM card', 'SIM-картка'],
  ['munition_component', 'camera', 'Camera', 'Камера'],
  ['munition_component', 'fuse', 'Fuse', 'Підривник'],
  ['munition_component', 'other', 'Other', 'Інше'],
  ['marking_method', 'painted', 'Painted', 'Нанесено фарбою'],
  ['marking_method', 'stamped', 'Stamped', 'Вибито штампом'],
  ['marking_method', 'engraved', 'Engraved', 'Вигравійовано'],
  ['marking_method', 'label', 'Label or plate', 'Наклейка або табличка'],
  ['marking_method', 'printed_circuit', 'Printed on a circuit board or chip', 'Надруковано на платі або мікросхемі'],
  ['remnant_condition', 'intact', 'Intact', 'Цілий'],
  ['remnant_condition', 'damaged', 'Damaged', 'Пошкоджений'],
  ['remnant_condition', 'fragment', 'Fragment', 'Фрагмент'],
  ['remnant_condition', 'burnt', 'Burnt', 'Обгорілий'],
  ['remnant_condition', 'unexploded', 'Unexploded (hazardous)', 'Нерозірваний (небезпечний)'],
  ['remnant_status', 'reported', 'Reported', 'Повідомлено'],
  ['remnant_status', 'examined', 'Examined', 'Оглянуто'],
  ['remnant_status', 'confirmed', 'Confirmed', 'Підтверджено'],
  ['remnant_identification_basis', 'marking', 'Marking read on the part', 'Маркування на деталі'],
  ['remnant_identification_basis', 'part_number', 'Part number', 'Номер деталі'],
  ['remnant_identification_basis', 'datasheet', 'Manufacturer’s datasheet', 'Технічна документація виробника'],
  ['remnant_identification_basis', 'lab_examination', 'Laboratory examination', 'Лабораторне дослідження'],
  ['remnant_identification_basis', 'official_catalogue', 'Official component catalogue', 'Офіційний каталог компонентів'],
  ['remnant_identification_basis', 'open_source', 'Open sources', 'Відкриті джерела'],
  ['remnant_identification_basis', 'expert_opinion', 'Expert opinion', 'Висновок експерта'],
];

/**
 * The skeleton of a marking as read (issue 14, item 3): markings are partial and mis-read, in
 * Cyrillic, Latin or both, so text is compared in a form where look-alikes are one character.
 * NFKC first (full-width digits, ligatures), then one `translate` that folds case without the
 * server's locale (the embedded server runs in C, which folds no Cyrillic), maps Cyrillic and
 * Greek letters to the Latin letter or digit they look like, puts letters and digits that are
 * read for each other in one class, and drops separators. Characters not named pass unchanged
 * (other scripts, Chinese on a chip). Classes: 0 O o О о Ο ο | 1 I i l L | Ι ι І і Ї ї Ӏ ӏ |
 * 3 З з Ӡ ӡ | 5 S s Ѕ ѕ | 6 Б б | 8 B b В в Β β | w W Ш ш Щ щ | and a c e h j k m p t x y with
 * their Cyrillic and Greek look-alikes. Dropped: white space . , - – — ‐ _ / \ : ; ( ) [ ] { }
 * # № " ' ` « » * + · ~.
 */
const FOLD: [string, string][] = [
  ['0', 'OoОоΟο'],
  ['1', 'IilL|ΙιІіЇїӀӏ'],
  ['3', 'ЗзӠӡ'],
  ['5', 'SsЅѕ'],
  ['6', 'Бб'],
  ['8', 'BbВвΒβ'],
  ['a', 'AАаΑα'],
  ['c', 'CСсϹϲ'],
  ['e', 'EЕеЁёЄєΕε'],
  ['h', 'HНнΗ'],
  ['j', 'JЈј'],
  ['k', 'KКкΚκ'],
  ['m', 'MМмΜ'],
  ['p', 'PРрΡρ'],
  ['t', 'TТтΤτ'],
  ['x', 'XХхΧχ'],
  ['y', 'YУуΥ'],
  ['w', 'WШшЩщ'],
  ...[...'DFGNQRUVZ'].map((upper): [string, string] => [upper.toLowerCase(), upper]),
  ...[...'ГҐДЖИЙЛПФЦЧЪЫЬЭЮЯ'].map((upper): [string, string] => [upper.toLowerCase(), upper]),
];
const DROPPED = ' \t\n\r\u00a0.,-\u2013\u2014\u2010_/\\:;()[]{}#№"\'`«»*+·~';
const FOLD_FROM = FOLD.flatMap(([, from]) => [...from]).join('') + DROPPED;
const FOLD_TO = FOLD.flatMap(([to, from]) => [...from].map(() => to)).join('');

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Munition remnants (issue 14): one physical fragment or component recovered after a strike,
 * with its markings, serial number, origin and attribution (`record`, validated by the
 * application like the other records), and the chain of its physical custody
 * (`remnant_transfers`, append-only, each row a `remnant.transferred` custody event).
 *
 * Every column beside `record` is generated from it, so no writer can let them disagree:
 * the codes the listing filters on, the parsed serial the analysis groups, and two skeletons
 * (`marking_skeleton`, above) the searches read: `marking_skeleton` holds the serial and every
 * marking's text, one per line (a search never matches across two markings), under a trigram
 * index for text found anywhere in a marking; `serial_skeleton` under a prefix index.
 */
export class Remnants1764001300000 implements MigrationInterface {
  name = 'Remnants1764001300000';

  async up(db: QueryRunner): Promise<void> {
    // Trusted since PostgreSQL 13: the database's owner may create it.
    await db.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    for (const [vocabulary, code, en, uk] of [...TERMS].sort((a, b) => a[1].split('.').length - b[1].split('.').length)) {
      const dot = code.lastIndexOf('.');
      await db.query(`INSERT INTO vocabulary_terms (vocabulary, code, parent_code, labels) VALUES ($1, $2, $3, $4)`, [
        vocabulary,
        code,
        dot < 0 ? null : code.slice(0, dot),
        JSON.stringify({ en, uk }),
      ]);
    }

    await db.query(`
      CREATE FUNCTION marking_skeleton(marking text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT translate(normalize(marking, NFKC), ${literal(FOLD_FROM)}, ${literal(FOLD_TO)}) $$`);
    await db.query(`
      CREATE FUNCTION remnant_marking_skeleton(record jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT concat_ws(E'\\n', marking_skeleton(record ->> 'serialNumber'),
                               (SELECT string_agg(marking_skeleton(m ->> 'text'), E'\\n')
                                  FROM jsonb_array_elements(CASE jsonb_typeof(record -> 'markings') WHEN 'array' THEN record -> 'markings' ELSE '[]' END) m)) $$`);

    await db.query(`
      CREATE TABLE remnants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        incident_id uuid NOT NULL REFERENCES incidents (id),
        case_id uuid NOT NULL REFERENCES cases (id),
        record jsonb NOT NULL,
        weapon_type text GENERATED ALWAYS AS (record ->> 'weaponType') STORED,
        component text GENERATED ALWAYS AS (record ->> 'component') STORED,
        status text GENERATED ALWAYS AS (record ->> 'status') STORED,
        serial_scheme text GENERATED ALWAYS AS (record #>> '{serialParts,scheme}') STORED,
        serial_series text GENERATED ALWAYS AS (record #>> '{serialParts,series}') STORED,
        serial_number bigint GENERATED ALWAYS AS ((record #>> '{serialParts,number}')::bigint) STORED,
        serial_skeleton text GENERATED ALWAYS AS (marking_skeleton(record ->> 'serialNumber')) STORED,
        marking_skeleton text GENERATED ALWAYS AS (remnant_marking_skeleton(record)) STORED,
        created_by uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX remnants_case_idx ON remnants (case_id, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX remnants_incident_idx ON remnants (incident_id, created_at, id)`);
    await db.query(`CREATE INDEX remnants_markings_idx ON remnants USING gin (marking_skeleton gin_trgm_ops)`);
    // Byte order: a LIKE prefix is a range of it, and a serial-prefix search pages along it.
    await db.query(`CREATE INDEX remnants_serial_prefix_idx ON remnants (case_id, (serial_skeleton COLLATE "C"), id)`);
    await db.query(`CREATE INDEX remnants_serials_idx ON remnants (case_id, serial_scheme, serial_series, serial_number) WHERE serial_scheme IS NOT NULL`);
    await db.query(`
      CREATE FUNCTION remnants_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'remnants are never deleted' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`CREATE TRIGGER remnants_no_delete BEFORE DELETE ON remnants FOR EACH ROW EXECUTE FUNCTION remnants_no_delete()`);

    // Hand-overs of the object itself: appended, never changed (a correction is a new transfer).
    await db.query(`
      CREATE TABLE remnant_transfers (
        id uuid PRIMARY KEY,
        remnant_id uuid NOT NULL REFERENCES remnants (id),
        case_id uuid NOT NULL REFERENCES cases (id),
        holder text NOT NULL,
        place text NOT NULL,
        from_at timestamptz NOT NULL,
        note text,
        recorded_by uuid NOT NULL REFERENCES users (id),
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX remnant_transfers_remnant_idx ON remnant_transfers (remnant_id, from_at, recorded_at)`);
    await db.query(`CREATE TRIGGER remnant_transfers_append_only BEFORE UPDATE OR DELETE ON remnant_transfers FOR EACH ROW EXECUTE FUNCTION custody_reject_change()`);
    await db.query(`CREATE TRIGGER remnant_transfers_no_truncate BEFORE TRUNCATE ON remnant_transfers FOR EACH STATEMENT EXECUTE FUNCTION custody_reject_change()`);
  }

  async down(db: QueryRunner): Promise<void> {
    const [row] = await db.query(`SELECT (SELECT count(*) FROM remnants) + (SELECT count(*) FROM remnant_transfers) AS n`);
    if (Number(row.n) > 0) throw new Error('Remnants are recorded: they are never rolled back; restore from a backup instead');
    await db.query(`DROP TABLE remnant_transfers`);
    await db.query(`DROP TABLE remnants`);
    await db.query(`DROP FUNCTION remnants_no_delete(), remnant_marking_skeleton(jsonb), marking_skeleton(text)`);
    await db.query(`DELETE FROM vocabulary_terms WHERE vocabulary IN ('munition_component', 'marking_method', 'remnant_condition', 'remnant_status', 'remnant_identification_basis') AND parent_code IS NOT NULL`);
    await db.query(`DELETE FROM vocabulary_terms WHERE vocabulary IN ('munition_component', 'marking_method', 'remnant_condition', 'remnant_status', 'remnant_identification_basis')`);
  }
}
