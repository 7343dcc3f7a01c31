import type { MigrationInterface, QueryRunner } from 'typeorm';

/** One seeded term: vocabulary, code, English label, Ukrainian label, extra attributes. */
type Term = [vocabulary: string, code: string, en: string, uk: string, attributes?: Record<string, string | null>];

const AIR = 'Air/drone strike';
const SHELLING = 'Shelling/artillery/missile attack';
const weapon = (code: string, en: string, uk: string, acled: string | null, ohchr: string): Term => [
  'weapon_type', code, en, uk, { acledSubEventType: acled, ohchrClass: ohchr },
];

/**
 * The controlled vocabularies of data-model.md, version 1. Hierarchical vocabularies use dotted
 * codes; the parent is the code up to its last dot. Weapon types carry their ACLED sub-event
 * type and OHCHR class.
 */
const TERMS: Term[] = [
  weapon('uav', 'Uncrewed aerial vehicle', 'Безпілотний літальний апарат', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.owa', 'Long-range one-way attack drone', 'Ударний БпЛА великої дальності', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.owa.shahed_136', 'Shahed-136 (Geran-2)', 'Шахед-136 (Герань-2)', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.owa.shahed_131', 'Shahed-131 (Geran-1)', 'Шахед-131 (Герань-1)', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.owa.jet', 'Jet-powered one-way attack drone', 'Реактивний ударний БпЛА', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.decoy', 'Decoy drone', 'БпЛА-імітатор', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.decoy.gerbera', 'Gerbera decoy', 'Імітатор «Гербера»', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.loitering', 'Loitering munition', 'Баражуючий боєприпас', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.loitering.lancet', 'Lancet', 'Ланцет', AIR, 'missiles_and_loitering_munitions'),
  weapon('uav.short_range', 'Short-range drone', 'БпЛА малої дальності', AIR, 'short_range_drones'),
  weapon('uav.short_range.fpv', 'FPV drone', 'FPV-дрон', AIR, 'short_range_drones'),
  weapon('uav.short_range.drop', 'Munition dropped from a drone', 'Скидання боєприпасу з дрона', AIR, 'short_range_drones'),
  weapon('missile', 'Missile', 'Ракета', SHELLING, 'missiles_and_loitering_munitions'),
  weapon('missile.cruise', 'Cruise missile', 'Крилата ракета', SHELLING, 'missiles_and_loitering_munitions'),
  weapon('missile.ballistic', 'Ballistic missile', 'Балістична ракета', SHELLING, 'missiles_and_loitering_munitions'),
  weapon('missile.s300_ground_attack', 'S-300 missile used against ground targets', 'Ракета С-300 по наземних цілях', SHELLING, 'missiles_and_loitering_munitions'),
  weapon('air_dropped', 'Air-dropped bomb', 'Авіаційна бомба', AIR, 'aircraft_bombs'),
  weapon('air_dropped.glide_bomb', 'Guided glide bomb', 'Керована авіаційна бомба', AIR, 'aircraft_bombs'),
  weapon('air_dropped.unguided', 'Unguided bomb', 'Некерована авіаційна бомба', AIR, 'aircraft_bombs'),
  weapon('artillery', 'Artillery', 'Артилерія', SHELLING, 'shelling_artillery_mlrs_tanks'),
  weapon('artillery.tube', 'Tube artillery', 'Ствольна артилерія', SHELLING, 'shelling_artillery_mlrs_tanks'),
  weapon('artillery.mlrs', 'Multiple-launch rocket system', 'Реактивна система залпового вогню', SHELLING, 'shelling_artillery_mlrs_tanks'),
  weapon('artillery.mortar', 'Mortar', 'Міномет', SHELLING, 'shelling_artillery_mlrs_tanks'),
  weapon('mines_erw', 'Mines and explosive remnants of war', 'Міни та вибухонебезпечні залишки війни', 'Remote explosive/landmine/IED', 'mines_erw'),
  weapon('small_arms', 'Small arms and light weapons', 'Стрілецька зброя', 'Attack', 'small_arms_light_weapons'),
  weapon('unknown', 'Unknown', 'Невідомо', null, 'unknown'),

  ['weapon_identification_basis', 'remnants_examined', 'Remnants examined', 'Оглянуто уламки'],
  ['weapon_identification_basis', 'video_signature', 'Video signature', 'Ознаки на відео'],
  ['weapon_identification_basis', 'acoustic', 'Acoustic signature', 'Звукові ознаки'],
  ['weapon_identification_basis', 'official_claim', 'Official claim', 'Офіційна заява'],
  ['weapon_identification_basis', 'witness', 'Witness account', 'Свідчення очевидця'],
  ['weapon_identification_basis', 'pattern', 'Pattern of attacks', 'Характер атак'],

  ['confidence', 'high', 'High', 'Висока'],
  ['confidence', 'medium', 'Medium', 'Середня'],
  ['confidence', 'low', 'Low', 'Низька'],

  ['object_category', 'residential', 'Residential', 'Житло'],
  ['object_category', 'residential.house', 'House', 'Приватний будинок'],
  ['object_category', 'residential.apartment', 'Apartment building', 'Багатоквартирний будинок'],
  ['object_category', 'healthcare', 'Healthcare', 'Охорона здоровʼя'],
  ['object_category', 'education', 'Education', 'Освіта'],
  ['object_category', 'education.school', 'School', 'Школа'],
  ['object_category', 'education.kindergarten', 'Kindergarten', 'Дитячий садок'],
  ['object_category', 'education.higher', 'Higher education', 'Вища освіта'],
  ['object_category', 'cultural_heritage', 'Cultural heritage', 'Культурна спадщина'],
  ['object_category', 'religious', 'Religious site', 'Релігійна споруда'],
  ['object_category', 'humanitarian', 'Humanitarian', 'Гуманітарний обʼєкт'],
  ['object_category', 'administrative', 'Administrative', 'Адміністративна будівля'],
  ['object_category', 'energy', 'Energy', 'Енергетика'],
  ['object_category', 'energy.generation', 'Power generation', 'Генерація електроенергії'],
  ['object_category', 'energy.substation_grid', 'Substation or grid', 'Підстанція або мережа'],
  ['object_category', 'energy.heating', 'Heating', 'Теплопостачання'],
  ['object_category', 'energy.fuel', 'Fuel', 'Паливо'],
  ['object_category', 'water_sanitation', 'Water and sanitation', 'Водопостачання та водовідведення'],
  ['object_category', 'telecom_media', 'Telecommunications and media', 'Звʼязок і медіа'],
  ['object_category', 'transport', 'Transport', 'Транспорт'],
  ['object_category', 'transport.road_bridge', 'Road or bridge', 'Дорога або міст'],
  ['object_category', 'transport.rail', 'Railway', 'Залізниця'],
  ['object_category', 'transport.airport_port', 'Airport or port', 'Аеропорт або порт'],
  ['object_category', 'commercial', 'Commercial', 'Комерційний обʼєкт'],
  ['object_category', 'industrial', 'Industrial', 'Промисловий обʼєкт'],
  ['object_category', 'agriculture_food', 'Agriculture and food', 'Сільське господарство та продовольство'],
  ['object_category', 'public_space', 'Public space', 'Громадський простір'],
  ['object_category', 'military', 'Military', 'Військовий обʼєкт'],
  ['object_category', 'unknown', 'Unknown', 'Невідомо'],

  ['ihl_protection', 'civilian_object', 'Civilian object', 'Цивільний обʼєкт'],
  ['ihl_protection', 'medical', 'Medical unit or transport', 'Медичний заклад або транспорт'],
  ['ihl_protection', 'cultural_property', 'Cultural property', 'Культурна цінність'],
  ['ihl_protection', 'worship', 'Place of worship', 'Місце відправлення культу'],
  ['ihl_protection', 'education', 'Educational facility', 'Заклад освіти'],
  ['ihl_protection', 'humanitarian', 'Humanitarian personnel or objects', 'Гуманітарний персонал або обʼєкти'],
  ['ihl_protection', 'indispensable_to_survival', 'Indispensable to the survival of the civilian population', 'Необхідне для виживання цивільного населення'],
  ['ihl_protection', 'dangerous_forces', 'Works containing dangerous forces', 'Установки, що містять небезпечні сили'],
  ['ihl_protection', 'environment', 'Natural environment', 'Природне середовище'],

  ['damage_level', 'destroyed', 'Destroyed', 'Зруйновано'],
  ['damage_level', 'severe', 'Severe damage', 'Значні пошкодження'],
  ['damage_level', 'moderate', 'Moderate damage', 'Помірні пошкодження'],
  ['damage_level', 'possible', 'Possible damage', 'Можливі пошкодження'],
  ['damage_level', 'none_visible', 'No visible damage', 'Видимих пошкоджень немає'],

  ['grade', 'confirmed', 'Confirmed', 'Підтверджено'],
  ['grade', 'fair', 'Fair', 'Достатньо підстав'],
  ['grade', 'weak', 'Weak', 'Слабкі підстави'],
  ['grade', 'contested', 'Contested', 'Оспорюється'],
  ['grade', 'discounted', 'Discounted', 'Відхилено'],

  ['harm_status', 'killed', 'Killed', 'Загинув'],
  ['harm_status', 'injured', 'Injured', 'Поранений'],
  ['harm_status', 'missing', 'Missing', 'Зниклий безвісти'],
  ['harm_status', 'died_of_wounds', 'Died of wounds', 'Помер від поранень'],

  ['civilian_status', 'civilian', 'Civilian', 'Цивільна особа'],
  ['civilian_status', 'non_civilian', 'Non-civilian', 'Нецивільна особа'],
  ['civilian_status', 'police', 'Police', 'Поліція'],
  ['civilian_status', 'other_security_forces', 'Other security forces', 'Інші сили безпеки'],
  ['civilian_status', 'unknown', 'Unknown', 'Невідомо'],

  ['sex', 'male', 'Male', 'Чоловіча'],
  ['sex', 'female', 'Female', 'Жіноча'],
  ['sex', 'unknown', 'Unknown', 'Невідомо'],

  ['age_group', 'child', 'Child', 'Дитина'],
  ['age_group', 'adult', 'Adult', 'Доросла особа'],
  ['age_group', 'elderly', 'Elderly', 'Літня особа'],
  ['age_group', 'unknown', 'Unknown', 'Невідомо'],

  ['special_category', 'child', 'Child', 'Дитина'],
  ['special_category', 'medical_worker', 'Medical worker', 'Медичний працівник'],
  ['special_category', 'emergency_responder', 'Emergency responder', 'Рятувальник'],
  ['special_category', 'humanitarian', 'Humanitarian worker', 'Гуманітарний працівник'],
  ['special_category', 'journalist', 'Journalist', 'Журналіст'],
  ['special_category', 'person_with_disability', 'Person with a disability', 'Особа з інвалідністю'],

  ['date_precision', 'exact', 'Exact', 'Точно'],
  ['date_precision', 'approximate', 'Approximate', 'Приблизно'],
  ['date_precision', 'day', 'Day', 'З точністю до дня'],
  ['date_precision', 'month', 'Month', 'З точністю до місяця'],
  ['date_precision', 'year', 'Year', 'З точністю до року'],

  ['geo_precision', 'exact', 'Exact (±10 m)', 'Точно (±10 м)'],
  ['geo_precision', 'vicinity', 'Vicinity (±100 m)', 'Поблизу (±100 м)'],
  ['geo_precision', 'locality', 'Locality (±1 km)', 'Населений пункт (±1 км)'],
  ['geo_precision', 'admin_area', 'Administrative area', 'Адміністративна одиниця'],

  ['source_reliability', 'highly_reliable', 'Highly reliable', 'Дуже надійне'],
  ['source_reliability', 'reliable', 'Reliable', 'Надійне'],
  ['source_reliability', 'fairly_reliable', 'Fairly reliable', 'Достатньо надійне'],
  ['source_reliability', 'unreliable', 'Unreliable', 'Ненадійне'],
  ['source_reliability', 'unknown', 'Unknown', 'Невідомо'],

  ['incident_type', 'air_drone_strike', 'Air or drone strike', 'Авіаудар або удар дрона'],
  ['incident_type', 'missile_strike', 'Missile strike', 'Ракетний удар'],
  ['incident_type', 'shelling', 'Shelling', 'Обстріл'],
  ['incident_type', 'other', 'Other', 'Інше'],

  ['verification_status', 'reported', 'Reported', 'Повідомлено'],
  ['verification_status', 'under_verification', 'Under verification', 'На перевірці'],
  ['verification_status', 'verified', 'Verified', 'Перевірено'],
  ['verification_status', 'not_verified', 'Not verified', 'Не підтверджено'],
  ['verification_status', 'pending_more_information', 'Pending more information', 'Очікує додаткової інформації'],

  ['related_incident_relation', 'precedes', 'Precedes', 'Передує'],
  ['related_incident_relation', 'follows', 'Follows', 'Слідує за'],
  ['related_incident_relation', 'part_of', 'Part of', 'Є частиною'],

  ['evidence_link_role', 'depicts_aftermath', 'Depicts the aftermath', 'Показує наслідки'],
  ['evidence_link_role', 'depicts_munition', 'Depicts the munition', 'Показує боєприпас'],
  ['evidence_link_role', 'depicts_casualty', 'Depicts a casualty', 'Показує постраждалих'],
  ['evidence_link_role', 'witness_account', 'Witness account', 'Свідчення очевидця'],
  ['evidence_link_role', 'official_record', 'Official record', 'Офіційний документ'],
  ['evidence_link_role', 'other', 'Other', 'Інше'],

  ['counting_unit', 'individual', 'Individual', 'Особа'],
  ['counting_unit', 'group', 'Group', 'Група'],

  ['casualty_status', 'reported', 'Reported', 'Повідомлено'],
  ['casualty_status', 'corroborated', 'Corroborated', 'Підкріплено'],
  ['casualty_status', 'confirmed', 'Confirmed', 'Підтверджено'],
  ['casualty_status', 'disputed', 'Disputed', 'Оспорюється'],
  ['casualty_status', 'rejected', 'Rejected', 'Відхилено'],

  ['identification_status', 'unidentified', 'Unidentified', 'Не встановлено'],
  ['identification_status', 'partially_identified', 'Partially identified', 'Частково встановлено'],
  ['identification_status', 'identified', 'Identified', 'Встановлено'],

  ['damage_status', 'reported', 'Reported', 'Повідомлено'],
  ['damage_status', 'remotely_assessed', 'Remotely assessed', 'Оцінено дистанційно'],
  ['damage_status', 'field_validated', 'Field validated', 'Перевірено на місці'],
  ['damage_status', 'superseded', 'Superseded', 'Замінено новішою оцінкою'],

  ['assessment_method', 'field_visit', 'Field visit', 'Виїзд на місце'],
  ['assessment_method', 'ground_media', 'Ground-level media', 'Наземні фото та відео'],
  ['assessment_method', 'satellite', 'Satellite imagery', 'Супутникові знімки'],
  ['assessment_method', 'aerial', 'Aerial imagery', 'Аерофотознімки'],
  ['assessment_method', 'official_report', 'Official report', 'Офіційний звіт'],

  ['functionality', 'functional', 'Functional', 'Працює'],
  ['functionality', 'partial', 'Partially functional', 'Працює частково'],
  ['functionality', 'non_functional', 'Non-functional', 'Не працює'],
];

/**
 * Incidents, casualty and damage records, and the vocabularies they use. Each record keeps its
 * validated document (`record`, the API's shape without derived figures); the columns beside it
 * are copies the searches index, written in the same statement. Casualty names are sealed by
 * the application (AES-256-GCM) and never stored in the clear.
 */
export class Records1764000300000 implements MigrationInterface {
  name = 'Records1764000300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE vocabulary_terms (
        vocabulary text NOT NULL,
        code text NOT NULL,
        parent_code text,
        labels jsonb NOT NULL CHECK (labels ? 'en' AND labels ? 'uk'),
        attributes jsonb NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1,
        deprecated boolean NOT NULL DEFAULT false,
        PRIMARY KEY (vocabulary, code),
        FOREIGN KEY (vocabulary, parent_code) REFERENCES vocabulary_terms (vocabulary, code)
      )`);
    const ordered = [...TERMS].sort((a, b) => a[1].split('.').length - b[1].split('.').length);
    for (const [vocabulary, code, en, uk, attributes] of ordered) {
      const dot = code.lastIndexOf('.');
      await db.query(
        `INSERT INTO vocabulary_terms (vocabulary, code, parent_code, labels, attributes) VALUES ($1, $2, $3, $4, $5)`,
        [vocabulary, code, dot < 0 ? null : code.slice(0, dot), JSON.stringify({ en, uk }), JSON.stringify(attributes ?? {})],
      );
    }

    await db.query(`
      CREATE TABLE incidents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        case_id uuid NOT NULL REFERENCES cases (id),
        code text NOT NULL,
        record jsonb NOT NULL,
        type text NOT NULL,
        start_at timestamptz NOT NULL,
        end_at timestamptz,
        lat double precision CHECK (lat BETWEEN -90 AND 90),
        lon double precision CHECK (lon BETWEEN -180 AND 180),
        grade text,
        verification_status text NOT NULL,
        weapon_types text[] NOT NULL DEFAULT '{}',
        -- Lower-cased by the application (Unicode rules): the C locale does not fold Cyrillic.
        search_text text NOT NULL DEFAULT '',
        search tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
        created_by uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT incidents_case_code_key UNIQUE (case_id, code),
        CHECK (end_at IS NULL OR end_at >= start_at),
        CHECK ((lat IS NULL) = (lon IS NULL))
      )`);
    await db.query(`CREATE INDEX incidents_case_start_idx ON incidents (case_id, start_at DESC, id DESC)`);
    await db.query(`CREATE INDEX incidents_position_idx ON incidents USING gist (point(lon, lat)) WHERE lat IS NOT NULL`);
    await db.query(`CREATE INDEX incidents_search_idx ON incidents USING gin (search)`);
    await db.query(`CREATE INDEX incidents_weapons_idx ON incidents USING gin (weapon_types)`);

    await db.query(`
      CREATE TABLE casualties (
        id uuid PRIMARY KEY,
        incident_id uuid NOT NULL REFERENCES incidents (id),
        case_id uuid NOT NULL REFERENCES cases (id),
        record jsonb NOT NULL,
        names_sealed bytea,
        counting_unit text NOT NULL CHECK (counting_unit IN ('individual', 'group')),
        count_min integer NOT NULL CHECK (count_min >= 0),
        count_max integer NOT NULL CHECK (count_max >= count_min),
        harm_status text NOT NULL,
        status text NOT NULL,
        created_by uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX casualties_incident_idx ON casualties (incident_id, created_at, id)`);
    await db.query(`CREATE INDEX casualties_case_idx ON casualties (case_id, created_at, id)`);

    await db.query(`
      CREATE TABLE damage_records (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        incident_id uuid NOT NULL REFERENCES incidents (id),
        case_id uuid NOT NULL REFERENCES cases (id),
        record jsonb NOT NULL,
        lat double precision CHECK (lat BETWEEN -90 AND 90),
        lon double precision CHECK (lon BETWEEN -180 AND 180),
        damage_level text,
        status text NOT NULL,
        created_by uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX damage_records_incident_idx ON damage_records (incident_id, created_at, id)`);
    await db.query(`CREATE INDEX damage_records_position_idx ON damage_records USING gist (point(lon, lat)) WHERE lat IS NOT NULL`);

    // Records are amended, never deleted: the custody log refers to them for ever.
    for (const table of ['incidents', 'casualties', 'damage_records']) {
      await db.query(`
        CREATE FUNCTION ${table}_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '${table} are never deleted' USING ERRCODE = 'insufficient_privilege';
        END $$`);
      await db.query(`CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_no_delete()`);
    }
  }

  async down(): Promise<void> {
    throw new Error('Records are never rolled back: restore from a backup instead');
  }
}
