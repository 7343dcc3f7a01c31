import type { Language } from './api.js';

/**
 * What the API says is wrong with a field, in the console's language. The API answers in English
 * (`errors[].message`, the same words for capture apps and partner tools), and its messages are a
 * known set: the checks of its schemas (libs/*\/src: `wrong(...)`, a field's own message) and the
 * few shapes libs/schema/src/parse.ts gives zod's issues. Each has its Ukrainian here, word for
 * word or as a pattern with the same numbers and names; a message not known yet is shown as the
 * API wrote it. field-messages.spec.ts reads the schemas' messages and holds this list to them.
 */
const UK_EXACT: Record<string, string> = {
  // libs/schema/src/parse.ts
  'is not a known field': 'невідоме поле',
  'is required': 'обовʼязкове поле',
  'must not be empty': 'не може бути порожнім',
  'must be a string': 'має бути текстом',
  'must be a number': 'має бути числом',
  'must be an integer': 'має бути цілим числом',
  'must be true or false': 'має бути «так» або «ні»',
  'must be an object': 'має бути обʼєктом',
  'must be an array': 'має бути списком',
  'must be a date': 'має бути датою',
  // the schemas' own checks
  'a group has at least one person': 'група має щонайменше одну особу',
  'an incident is not related to itself': 'подія не може бути повʼязана сама з собою',
  'each ring must end where it starts (RFC 7946 §3.1.6)': 'кожне кільце має закінчуватися там, де починається (RFC 7946 §3.1.6)',
  'is before the remnant was recovered': 'раніше, ніж уламок було вилучено',
  'is given more than once': 'подано більше одного разу',
  'must be UTF-8': 'має бути в кодуванні UTF-8',
  'must hold a letter or a digit (separators and punctuation are not searched)': 'має містити літеру або цифру (роздільники й розділові знаки не шукаються)',
  'is not a calendar date': 'такої дати в календарі немає',
  'is not a usable name': 'таку назву не можна використати',
  'is not an evidence item of this case': 'це не доказ цієї справи',
  'is not an incident of this case': 'це не подія цієї справи',
  'is not your current password': 'це не ваш поточний пароль',
  'is only for countingUnit group': 'лише для одиниці обліку «група»',
  'is required for a group ({ min, max })': 'обовʼязкове для групи ({ min, max })',
  'is empty: name at least one, or leave it out (no selection exports the whole case)':
    'порожній список: вкажіть хоча б один або не вказуйте зовсім (без вибору експортується вся справа)',
  'lies in the future': 'у майбутньому',
  'needs its date: give the date or clear both': 'потрібна сама дата: вкажіть її або очистьте обидва поля',
  'may hold letters, digits and . _ / - only': 'може містити лише літери, цифри та . _ / -',
  'min must not be greater than max': 'min не може бути більшим за max',
  'must be 64 hexadecimal characters': 'має складатися з 64 шістнадцяткових символів',
  'must be 64 lowercase hex digits (SHA-256)': 'має складатися з 64 малих шістнадцяткових цифр (SHA-256)',
  'must be a BCP 47 tag such as uk or uk-UA': 'має бути тегом мови BCP 47, як-от uk чи uk-UA',
  'must be a UUID': 'має бути UUID',
  'must be a date (YYYY-MM-DD)': 'має бути датою (РРРР-ММ-ДД)',
  'must be a date (YYYY-MM-DD) or an RFC 3339 date-time with an offset': 'має бути датою (РРРР-ММ-ДД) або датою й часом RFC 3339 зі зсувом',
  'must be a decimal between 0.5 and 0.999': 'має бути десятковим числом від 0,5 до 0,999',
  'must be a single line: no tab or line break': 'має бути одним рядком: без табуляції та переносу рядка',
  'must be a vocabulary code': 'має бути кодом словника',
  'must be a whole number': 'має бути цілим числом',
  'must be a whole number from 1 to 200': 'має бути цілим числом від 1 до 200',
  'must be an ISO 3166-1 alpha-2 country code (US, CN, RU, IR)': 'має бути кодом країни ISO 3166-1 alpha-2 (US, CN, RU, IR)',
  'must be an RFC 3339 date-time with an offset (Z or ±hh:mm)': 'має бути датою й часом RFC 3339 зі зсувом (Z або ±гг:хх)',
  'must be an email address': 'має бути адресою електронної пошти',
  'must be an http or https URL': 'має бути адресою http або https',
  'must be false for purpose partner': 'не дозволено в пакеті для партнерів',
  'must be in the future': 'має бути в майбутньому',
  'must be lowercase hex': 'має складатися з малих шістнадцяткових цифр',
  'must be metres, 0 < r <= 20000000': 'має бути в метрах, 0 < r <= 20000000',
  'must differ from the current password': 'має відрізнятися від поточного пароля',
  'must lie in the years 0001 to 9999': 'має бути в межах років 0001–9999',
  'must lie in the years 0001 to 9999 (UTC)': 'має бути в межах років 0001–9999 (UTC)',
  'must not be blank': 'не може бути порожнім',
  'must not be negative': 'не може бути відʼємним',
  'must not be true for your own account': 'не можна для власного облікового запису',
  'must not contain spaces, invisible or control characters': 'не може містити пробілів, невидимих чи керівних символів',
  'must not exceed killed': 'не може перевищувати кількість загиблих',
  'name at least one of displayName, role, disabled': 'змініть щонайменше одне: імʼя, роль чи стан',
  'needs incidentId': 'потрібна подія (incidentId)',
  'needs incidentId (the item is not linked)': 'потрібна подія (incidentId): доказ не повʼязано з подією',
  'positions are [lon, lat] within -180..180, -90..90': 'позиції мають бути [lon, lat] у межах -180..180, -90..90',
  'say why the record changes': 'вкажіть, чому запис змінюється',
  'send exactly one of userId and email': 'вкажіть щось одне: userId або email',
  'must be lat,lon (decimal degrees)': 'має бути lat,lon (десяткові градуси)',
  'must be in range: lat -90..90, lon -180..180': 'має бути в межах: lat -90..90, lon -180..180',
  'must be in range: lon -180..180, lat -90..90': 'має бути в межах: lon -180..180, lat -90..90',
  'must be minLon,minLat,maxLon,maxLat (minLon > maxLon crosses the antimeridian)': 'має бути minLon,minLat,maxLon,maxLat (minLon > maxLon перетинає антимеридіан)',
  'must not be after to': 'не може бути пізніше за «до»',
  'no active user has this email': 'немає активного користувача з такою адресою',
  'no active user has this id': 'немає активного користувача з таким id',
};

/** Messages with numbers or names in them: the pattern and its Ukrainian, `$1`... kept. */
const UK_PATTERNS: [RegExp, string][] = [
  [/^must be at least (\S+) characters$/, 'кількість символів має бути не меншою за $1'],
  [/^must be at most (\S+) characters$/, 'кількість символів має бути не більшою за $1'],
  [/^must be at least (\S+) items$/, 'кількість елементів має бути не меншою за $1'],
  [/^must be at most (\S+) items$/, 'кількість елементів має бути не більшою за $1'],
  [/^must be at least (\S+)$/, 'щонайменше $1'],
  [/^must be at most (\S+)$/, 'не більше $1'],
  [/^must be (\S+) to (\S+) characters long$/, 'має бути від $1 до $2 символів'],
  [/^must be between (\S+) and (\S+)$/, 'має бути від $1 до $2'],
  [/^must be one of (.+)$/, 'має бути одним із: $1'],
  [/^must not be before (\w+)$/, 'не може бути раніше за $1'],
  [/^must be >= (\w+)$/, 'має бути не менше за $1'],
  [/^must have at most (\d+) entries$/, 'кількість записів — не більше $1'],
  [/^nests deeper than (\d+) levels$/, 'рівнів вкладеності більше, ніж $1'],
  [/^(\S+) is not in this case$/, '$1 немає в цій справі'],
  [/^(\S+) is not a code of the (\w+) vocabulary$/, '$1 не є кодом словника $2'],
  [/^is not a code of the (\w+) vocabulary$/, 'не є кодом словника $1'],
  [/^(\S+) is deprecated in the (\w+) vocabulary$/, '$1 застарів у словнику $2'],
];

export function fieldMessage(message: string, lang: Language): string {
  if (lang !== 'uk') return message;
  const exact = UK_EXACT[message];
  if (exact) return exact;
  for (const [pattern, uk] of UK_PATTERNS) if (pattern.test(message)) return message.replace(pattern, uk);
  return message;
}
