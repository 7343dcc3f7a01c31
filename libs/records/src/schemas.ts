import { BodyReader, type CountRange, type GeoPoint } from './validation.js';

type Json = Record<string, unknown>;

export interface WeaponIdentification {
  weaponType: string;
  identificationBasis: string | null;
  confidence: string | null;
}

export interface Attribution {
  actor: string;
  basis: string | null;
  confidence: string | null;
}

/** OHCHR's breakdown of people harmed. */
export interface HarmBreakdown {
  men: number | null;
  women: number | null;
  boys: number | null;
  girls: number | null;
  childrenUnknownSex: number | null;
  adultsUnknownSex: number | null;
}

export interface EvidenceLink {
  evidenceId: string;
  role: string;
}

export interface SourceLink {
  evidenceId: string;
  reliability: string | null;
}

/** An incident as stored (data-model.md); killed and injured here are the entered figures. */
export interface IncidentRecord {
  code: string | null;
  title: string;
  description: string | null;
  type: string;
  startAt: string;
  endAt: string | null;
  datePrecision: string | null;
  location: GeoPoint | null;
  geoPrecision: string | null;
  placeName: string | null;
  admin1: string | null;
  admin2: string | null;
  admin3: string | null;
  weapons: WeaponIdentification[];
  attributions: Attribution[];
  grade: string | null;
  verificationStatus: string;
  killed: CountRange | null;
  injured: CountRange | null;
  civilianKilled: CountRange | null;
  breakdown: { killed: HarmBreakdown | null; injured: HarmBreakdown | null };
  relatedIncidents: { incidentId: string; relation: string }[];
  evidence: EvidenceLink[];
}

export interface CasualtyRecord {
  countingUnit: 'individual' | 'group';
  groupSize: CountRange | null;
  harmStatus: string;
  sex: string | null;
  age: number | null;
  ageRange: CountRange | null;
  ageGroup: string | null;
  civilianStatus: string | null;
  civilianStatusBasis: string | null;
  specialCategories: string[];
  dateOfHarm: string | null;
  dateOfDeath: string | null;
  causeOfDeath: string | null;
  identificationStatus: string;
  status: string;
  sources: SourceLink[];
  consentToPublishName: boolean;
}

/** Personal data of a casualty: sealed at rest, shown only to investigators of the case. */
export interface CasualtyNames {
  fullName: string | null;
  nameVariants: string[];
}

export interface DamageRecord {
  objectName: string | null;
  address: string | null;
  location: GeoPoint | null;
  footprint: { type: 'Polygon'; coordinates: number[][][] } | null;
  objectCategory: string | null;
  ihlProtection: string[];
  damageLevel: string | null;
  assessmentMethod: string | null;
  assessedAt: string | null;
  imageryDate: string | null;
  fieldValidated: boolean;
  functionality: string | null;
  serviceImpact: { description: string | null; counts: Record<string, number> } | null;
  occupancyAtTime: string | null;
  militaryUseIndicators: string | null;
  status: string;
  sources: SourceLink[];
}

const INCIDENT_FIELDS = [
  'code', 'title', 'description', 'type', 'startAt', 'endAt', 'datePrecision', 'location', 'geoPrecision', 'placeName',
  'admin1', 'admin2', 'admin3', 'weapons', 'attributions', 'grade', 'verificationStatus', 'killed', 'injured',
  'civilianKilled', 'breakdown', 'relatedIncidents', 'evidence',
];
const BREAKDOWN_FIELDS = ['men', 'women', 'boys', 'girls', 'childrenUnknownSex', 'adultsUnknownSex'] as const;

function breakdown(r: BodyReader, value: unknown, field: string): HarmBreakdown | null {
  const body = r.object(value, field);
  if (!body) return null;
  r.only(body, [...BREAKDOWN_FIELDS], field);
  const out = {} as HarmBreakdown;
  for (const key of BREAKDOWN_FIELDS) out[key] = r.count(body[key], `${field}.${key}`);
  return out;
}

function sources(r: BodyReader, value: unknown, field: string): SourceLink[] {
  return r.array(value, field, 200).flatMap((item, i) => {
    const at = `${field}[${i}]`;
    const body = r.object(item, at);
    if (!body) {
      if (item === null) r.malformed.push({ field: at, message: 'must be an object' });
      return [];
    }
    r.only(body, ['evidenceId', 'reliability'], at);
    const evidenceId = r.uuid(body['evidenceId'], `${at}.evidenceId`);
    const reliability = r.code(body['reliability'], `${at}.reliability`, 'source_reliability');
    return evidenceId ? [{ evidenceId, reliability }] : [];
  });
}

/** Checks an incident body; the reader holds the problems and the vocabulary codes to check. */
export function readIncident(body: Json): { reader: BodyReader; record: IncidentRecord } {
  const r = new BodyReader();
  r.only(body, INCIDENT_FIELDS);
  const weapons = r.array(body['weapons'], 'weapons', 20).flatMap((item, i) => {
    const w = r.object(item, `weapons[${i}]`);
    if (!w) return [];
    r.only(w, ['weaponType', 'identificationBasis', 'confidence'], `weapons[${i}]`);
    const weaponType = r.code(w['weaponType'], `weapons[${i}].weaponType`, 'weapon_type', { required: true });
    return weaponType
      ? [{
          weaponType,
          identificationBasis: r.code(w['identificationBasis'], `weapons[${i}].identificationBasis`, 'weapon_identification_basis'),
          confidence: r.code(w['confidence'], `weapons[${i}].confidence`, 'confidence'),
        }]
      : [];
  });
  const attributions = r.array(body['attributions'], 'attributions', 20).flatMap((item, i) => {
    const a = r.object(item, `attributions[${i}]`);
    if (!a) return [];
    r.only(a, ['actor', 'basis', 'confidence'], `attributions[${i}]`);
    const actor = r.text(a['actor'], `attributions[${i}].actor`, { required: true, max: 200 });
    return actor
      ? [{ actor, basis: r.text(a['basis'], `attributions[${i}].basis`, { max: 2000 }), confidence: r.code(a['confidence'], `attributions[${i}].confidence`, 'confidence') }]
      : [];
  });
  const related = r.array(body['relatedIncidents'], 'relatedIncidents', 50).flatMap((item, i) => {
    const rel = r.object(item, `relatedIncidents[${i}]`);
    if (!rel) return [];
    r.only(rel, ['incidentId', 'relation'], `relatedIncidents[${i}]`);
    const incidentId = r.uuid(rel['incidentId'], `relatedIncidents[${i}].incidentId`);
    const relation = r.code(rel['relation'], `relatedIncidents[${i}].relation`, 'related_incident_relation', { required: true });
    return incidentId && relation ? [{ incidentId, relation }] : [];
  });
  const evidence = r.array(body['evidence'], 'evidence', 500).flatMap((item, i) => {
    const link = r.object(item, `evidence[${i}]`);
    if (!link) return [];
    r.only(link, ['evidenceId', 'role'], `evidence[${i}]`);
    const evidenceId = r.uuid(link['evidenceId'], `evidence[${i}].evidenceId`);
    const role = r.code(link['role'], `evidence[${i}].role`, 'evidence_link_role', { fallback: 'other' });
    return evidenceId && role ? [{ evidenceId, role }] : [];
  });
  const bd = r.object(body['breakdown'], 'breakdown');
  if (bd) r.only(bd, ['killed', 'injured'], 'breakdown');
  const code = r.text(body['code'], 'code', { max: 50 });
  if (code !== null && !/^[\p{L}\p{N}._/-]+$/u.test(code)) r.malformed.push({ field: 'code', message: 'may hold letters, digits and . _ / - only' });

  const record: IncidentRecord = {
    code,
    title: r.text(body['title'], 'title', { required: true, max: 500 }) ?? '',
    description: r.text(body['description'], 'description', { max: 20_000 }),
    type: r.code(body['type'], 'type', 'incident_type', { required: true }) ?? '',
    startAt: r.instant(body['startAt'], 'startAt', { required: true }) ?? '',
    endAt: r.instant(body['endAt'], 'endAt'),
    datePrecision: r.code(body['datePrecision'], 'datePrecision', 'date_precision'),
    location: r.location(body['location'], 'location'),
    geoPrecision: r.code(body['geoPrecision'], 'geoPrecision', 'geo_precision'),
    placeName: r.text(body['placeName'], 'placeName', { max: 500 }),
    admin1: r.text(body['admin1'], 'admin1', { max: 200 }),
    admin2: r.text(body['admin2'], 'admin2', { max: 200 }),
    admin3: r.text(body['admin3'], 'admin3', { max: 200 }),
    weapons,
    attributions,
    grade: r.code(body['grade'], 'grade', 'grade'),
    verificationStatus: r.code(body['verificationStatus'], 'verificationStatus', 'verification_status', { fallback: 'reported' }) ?? 'reported',
    killed: r.range(body['killed'], 'killed'),
    injured: r.range(body['injured'], 'injured'),
    civilianKilled: r.range(body['civilianKilled'], 'civilianKilled'),
    breakdown: { killed: breakdown(r, bd?.['killed'], 'breakdown.killed'), injured: breakdown(r, bd?.['injured'], 'breakdown.injured') },
    relatedIncidents: related,
    evidence,
  };
  if (record.startAt && record.endAt && record.endAt < record.startAt) r.wrong.push({ field: 'endAt', message: 'must not be before startAt' });
  if (record.civilianKilled && record.killed && record.civilianKilled.min > record.killed.max) {
    r.wrong.push({ field: 'civilianKilled', message: 'must not exceed killed' });
  }
  return { reader: r, record };
}

const CASUALTY_FIELDS = [
  'countingUnit', 'groupSize', 'harmStatus', 'fullName', 'nameVariants', 'sex', 'age', 'ageRange', 'ageGroup',
  'civilianStatus', 'civilianStatusBasis', 'specialCategories', 'dateOfHarm', 'dateOfDeath', 'causeOfDeath',
  'identificationStatus', 'status', 'sources', 'consentToPublishName',
];

export function readCasualty(body: Json): { reader: BodyReader; record: CasualtyRecord; names: CasualtyNames } {
  const r = new BodyReader();
  r.only(body, CASUALTY_FIELDS);
  const unit = r.code(body['countingUnit'], 'countingUnit', 'counting_unit', { fallback: 'individual' });
  const countingUnit = unit === 'group' ? 'group' : 'individual';
  const groupSize = r.range(body['groupSize'], 'groupSize', { required: countingUnit === 'group' });
  if (countingUnit === 'individual' && groupSize) r.wrong.push({ field: 'groupSize', message: 'is only for countingUnit group' });
  if (groupSize && groupSize.max === 0) r.wrong.push({ field: 'groupSize', message: 'a group has at least one person' });
  const nameVariants = r.array(body['nameVariants'], 'nameVariants', 20)
    .map((v, i) => r.text(v, `nameVariants[${i}]`, { max: 300, required: true }))
    .filter((v): v is string => v !== null);
  const record: CasualtyRecord = {
    countingUnit,
    groupSize: countingUnit === 'group' ? groupSize : null,
    harmStatus: r.code(body['harmStatus'], 'harmStatus', 'harm_status', { required: true }) ?? '',
    sex: r.code(body['sex'], 'sex', 'sex'),
    age: r.count(body['age'], 'age', 130),
    ageRange: r.range(body['ageRange'], 'ageRange'),
    ageGroup: r.code(body['ageGroup'], 'ageGroup', 'age_group'),
    civilianStatus: r.code(body['civilianStatus'], 'civilianStatus', 'civilian_status'),
    civilianStatusBasis: r.text(body['civilianStatusBasis'], 'civilianStatusBasis', { max: 2000 }),
    specialCategories: r.codes(body['specialCategories'], 'specialCategories', 'special_category'),
    dateOfHarm: r.dateOrInstant(body['dateOfHarm'], 'dateOfHarm'),
    dateOfDeath: r.dateOrInstant(body['dateOfDeath'], 'dateOfDeath'),
    causeOfDeath: r.text(body['causeOfDeath'], 'causeOfDeath', { max: 2000 }),
    identificationStatus: r.code(body['identificationStatus'], 'identificationStatus', 'identification_status', { fallback: 'unidentified' }) ?? 'unidentified',
    status: r.code(body['status'], 'status', 'casualty_status', { fallback: 'reported' }) ?? 'reported',
    sources: sources(r, body['sources'], 'sources'),
    consentToPublishName: r.boolean(body['consentToPublishName'], 'consentToPublishName') ?? false,
  };
  if (record.ageRange && record.ageRange.max > 130) r.wrong.push({ field: 'ageRange', message: 'must be at most 130' });
  if (record.dateOfHarm && record.dateOfDeath && record.dateOfDeath.slice(0, 10) < record.dateOfHarm.slice(0, 10)) {
    r.wrong.push({ field: 'dateOfDeath', message: 'must not be before dateOfHarm' });
  }
  const names: CasualtyNames = { fullName: r.text(body['fullName'], 'fullName', { max: 300 }), nameVariants };
  return { reader: r, record, names };
}

const DAMAGE_FIELDS = [
  'objectName', 'address', 'location', 'footprint', 'objectCategory', 'ihlProtection', 'damageLevel', 'assessmentMethod',
  'assessedAt', 'imageryDate', 'fieldValidated', 'functionality', 'serviceImpact', 'occupancyAtTime',
  'militaryUseIndicators', 'status', 'sources',
];

function footprint(r: BodyReader, value: unknown): DamageRecord['footprint'] {
  const body = r.object(value, 'footprint');
  if (!body) return null;
  r.only(body, ['type', 'coordinates'], 'footprint');
  const rings = body['coordinates'];
  const isPosition = (p: unknown): p is number[] =>
    Array.isArray(p) && p.length === 2 && p.every((n) => typeof n === 'number' && Number.isFinite(n));
  if (body['type'] !== 'Polygon' || !Array.isArray(rings) || rings.length === 0 || rings.length > 50 ||
      !rings.every((ring) => Array.isArray(ring) && ring.length >= 4 && ring.length <= 10_000 && ring.every(isPosition))) {
    r.malformed.push({ field: 'footprint', message: 'must be a GeoJSON Polygon: linear rings of [lon, lat] positions' });
    return null;
  }
  const positions = (rings as number[][][]).flat();
  if (positions.some(([lon, lat]) => Math.abs(lon!) > 180 || Math.abs(lat!) > 90)) {
    r.wrong.push({ field: 'footprint', message: 'positions are [lon, lat] within -180..180, -90..90' });
    return null;
  }
  if ((rings as number[][][]).some((ring) => ring[0]![0] !== ring[ring.length - 1]![0] || ring[0]![1] !== ring[ring.length - 1]![1])) {
    r.wrong.push({ field: 'footprint', message: 'each ring must end where it starts (RFC 7946 §3.1.6)' });
    return null;
  }
  return { type: 'Polygon', coordinates: rings as number[][][] };
}

export function readDamage(body: Json): { reader: BodyReader; record: DamageRecord } {
  const r = new BodyReader();
  r.only(body, DAMAGE_FIELDS);
  let serviceImpact: DamageRecord['serviceImpact'] = null;
  const impact = r.object(body['serviceImpact'], 'serviceImpact');
  if (impact) {
    r.only(impact, ['description', 'counts'], 'serviceImpact');
    const countsBody = r.object(impact['counts'], 'serviceImpact.counts') ?? {};
    const counts: Record<string, number> = {};
    for (const [key, value] of Object.entries(countsBody).slice(0, 50)) {
      if (!/^[A-Za-z][A-Za-z0-9_]{0,60}$/.test(key)) r.malformed.push({ field: `serviceImpact.counts.${key}`, message: 'is not a usable name' });
      const n = r.count(value, `serviceImpact.counts.${key}`, 1_000_000_000);
      if (n !== null) counts[key] = n;
    }
    serviceImpact = { description: r.text(impact['description'], 'serviceImpact.description', { max: 5000 }), counts };
  }
  const record: DamageRecord = {
    objectName: r.text(body['objectName'], 'objectName', { max: 500 }),
    address: r.text(body['address'], 'address', { max: 500 }),
    location: r.location(body['location'], 'location'),
    footprint: footprint(r, body['footprint']),
    objectCategory: r.code(body['objectCategory'], 'objectCategory', 'object_category'),
    ihlProtection: r.codes(body['ihlProtection'], 'ihlProtection', 'ihl_protection'),
    damageLevel: r.code(body['damageLevel'], 'damageLevel', 'damage_level'),
    assessmentMethod: r.code(body['assessmentMethod'], 'assessmentMethod', 'assessment_method'),
    assessedAt: r.instant(body['assessedAt'], 'assessedAt'),
    imageryDate: r.dateOrInstant(body['imageryDate'], 'imageryDate'),
    fieldValidated: r.boolean(body['fieldValidated'], 'fieldValidated') ?? false,
    functionality: r.code(body['functionality'], 'functionality', 'functionality'),
    serviceImpact,
    occupancyAtTime: r.text(body['occupancyAtTime'], 'occupancyAtTime', { max: 2000 }),
    militaryUseIndicators: r.text(body['militaryUseIndicators'], 'militaryUseIndicators', { max: 5000 }),
    status: r.code(body['status'], 'status', 'damage_status', { fallback: 'reported' }) ?? 'reported',
    sources: sources(r, body['sources'], 'sources'),
  };
  return { reader: r, record };
}
