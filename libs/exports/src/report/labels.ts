/**
 * Every word the chain-of-custody report prints, in Ukrainian and English side by side, in one
 * place so the HTML and the PDF say exactly the same thing. Codes the tables do not know (a new
 * custody action, a new flag) are shown as they are, never hidden.
 */

/** One label in both languages. */
export interface Bilingual {
  uk: string;
  en: string;
}

const bi = (uk: string, en: string): Bilingual => ({ uk, en });

/** Field and section labels. */
export const LABELS = {
  reportTitle: bi('Звіт про ланцюг зберігання доказів', 'Chain-of-custody report'),
  shortTitle: bi('Звіт про ланцюг зберігання', 'Chain-of-custody report'),
  package: bi('Пакет', 'Package'),
  exportId: bi('Ідентифікатор експорту', 'Export id'),
  caseTitle: bi('Справа', 'Case'),
  caseId: bi('Ідентифікатор справи', 'Case id'),
  purpose: bi('Призначення', 'Purpose'),
  selection: bi('Вибірка', 'Selection'),
  contents: bi('Склад', 'Contents'),
  countEvidence: bi('Доказів', 'Evidence items'),
  countIncidents: bi('Інцидентів', 'Incidents'),
  countCasualties: bi('Записів про постраждалих', 'Casualty records'),
  countDamage: bi('Записів про пошкодження', 'Damage records'),
  countRemnants: bi('Залишків боєприпасів', 'Munition remnants'),
  countEvents: bi('Подій ланцюга зберігання', 'Custody events'),
  countEventsWithheld: bi(
    'Подій не включено (називають утримувача або пристрій, яким зроблено файл, або містять пояснення)',
    'Custody events left out (they name a holder or the device a file came from, or carry a free-text reason)',
  ),
  countEventsNamingWithheld: bi(
    'Подій не включено (містять геш усього запису про інцидент, пошкодження чи уламок)',
    'Custody events left out (they hold the hash of a whole incident, damage or remnant record)',
  ),
  organization: bi('Організація', 'Organisation'),
  createdBy: bi('Створив(ла)', 'Made by'),
  baggingTime: bi('Час пакування', 'Bagging time'),
  namesIncluded: bi('Імена жертв', 'Victims’ names'),
  note: bi('Примітка', 'Note'),
  treeHead: bi('Підписана вершина дерева журналу', 'Signed tree head of the custody log'),
  treeSize: bi('Розмір дерева', 'Tree size'),
  rootHash: bi('Кореневий хеш', 'Root hash'),
  headTimestamp: bi('Час вершини', 'Head timestamp'),
  keyId: bi('Ідентифікатор ключа', 'Key id'),
  signature: bi('Підпис (Ed25519)', 'Signature (Ed25519)'),
  tsa: bi('Позначка часу RFC 3161', 'RFC 3161 time-stamp'),
  tsaGenTime: bi('Час позначки', 'Time-stamp time'),
  tsaAuthority: bi('Хто засвідчив', 'Authority'),
  tsaSerial: bi('Серійний номер', 'Serial number'),
  tsaPolicy: bi('Політика', 'Policy'),
  tsaNone: bi(
    'Не створено: вершину підписано лише ключем архіву',
    'None made: the head is signed by the archive’s key only',
  ),
  whatProofsShow: bi('Що доводять ці докази і як їх перевірити', 'What the proofs show and how to check them'),
  evidenceItem: bi('Доказ', 'Evidence item'),
  of: bi('з', 'of'),
  continued: bi('продовження', 'continued'),
  untitled: bi('без назви', 'untitled'),
  evidenceId: bi('Ідентифікатор доказу', 'Evidence id'),
  received: bi('Отримано', 'Received'),
  submittedBy: bi('Подав(ла)', 'Submitted by'),
  nameWithheld: bi('ім’я не включено', 'name withheld'),
  withheldFromCopy: bi('не включено до робочої копії', 'withheld from a working copy'),
  sourceType: bi('Тип джерела', 'Source type'),
  status: bi('Статус', 'Status'),
  incident: bi('Інцидент', 'Incident'),
  none: bi('немає', 'none'),
  originalFileName: bi('Назва файлу', 'File name'),
  mediaType: bi('Тип даних', 'Media type'),
  size: bi('Розмір', 'Size'),
  sha256Original: bi('SHA-256 оригіналу', 'Original’s SHA-256'),
  packedFile: bi('Файл у пакеті', 'File in package'),
  notPacked: bi(
    'файл не включено до пакета',
    'no file included in this package',
  ),
  packedSha512: bi('SHA-512 файлу в пакеті', 'Packed file’s SHA-512'),
  packedSha256: bi('SHA-256 перегляду', 'Preview’s SHA-256'),
  deviceHash: bi('Хеш пристрою', 'Device hash'),
  deviceHashMatched: bi(
    'збігся: SHA-256, обчислений пристроєм, дорівнює отриманим байтам',
    'matched: the SHA-256 computed on the device equals the bytes received',
  ),
  deviceHashMismatch: bi('НЕ збігся з отриманими байтами', 'did NOT match the bytes received'),
  deviceHashNone: bi('пристрій не надіслав хешу', 'the device sent no hash'),
  receiptAndFile: bi('Отримання і файл', 'Receipt and file'),
  timeAndPlace: bi('Час і місце: заявлене і записане у файлі', 'Time and place: declared and in the file'),
  flagsAndProof: bi('Позначки і перевірка', 'Flags and proof'),
  capturedDeclared: bi('Час зйомки, заявлений', 'Captured, declared'),
  capturedInFile: bi('Час зйомки, у файлі', 'Captured, in file'),
  locationDeclared: bi('Місце, заявлене', 'Location, declared'),
  locationInFile: bi('Місце, у файлі', 'Location, in file'),
  accuracy: bi('точність', 'accuracy'),
  altitude: bi('висота', 'altitude'),
  extracted: bi('Метадані у файлі', 'Embedded metadata'),
  extractedNone: bi('у файлі не знайдено', 'none found in the file'),
  cameraClock: bi('годинник пристрою, без часового поясу', 'device clock, no time zone'),
  offset: bi('зміщення у файлі', 'offset in the file'),
  device: bi('Пристрій, у файлі', 'Device, in file'),
  dimensions: bi('Розміри, у файлі', 'Dimensions, in file'),
  duration: bi('Тривалість, у файлі', 'Duration, in file'),
  docPages: bi('Сторінок, за документом', 'Pages, as the document says'),
  docTitle: bi('Назва, у документі', 'Title, in the document'),
  docSavedFrom: bi('Збережено зі сторінки', 'Saved from the page at'),
  docAuthor: bi('Автор, у документі', 'Author, in the document'),
  docLastModifiedBy: bi('Востаннє зберіг, у документі', 'Last saved by, in the document'),
  docApplication: bi('Програма, що створила документ', 'Written with'),
  docCreated: bi('Створено, за документом', 'Created, as the document says'),
  mailSubject: bi('Тема, у листі', 'Subject, in the message'),
  mailFrom: bi('Відправник, у листі', 'Sender, in the message'),
  mailer: bi('Поштова програма', 'Sent with'),
  mailSent: bi('Надіслано, за листом', 'Sent, as the message says'),
  mailRecipients: bi('Адресати, у листі', 'Recipients, in the message'),
  mailAttachments: bi('Файли в листі (SHA-256 кожного)', 'Files in the message (SHA-256 of each)'),
  mailboxMessages: bi('Листи в поштовій скриньці (розмір, відправник, дата за листом; SHA-256 кожного)', 'Messages in the mailbox (size, sender, date as the message says; SHA-256 of each)'),
  archiveFiles: bi('Файли в архіві (розмір, зміна за архівом; SHA-256 кожного)', 'Files in the archive (size, last change as the archive says; SHA-256 of each)'),
  mailInline: bi('показано в тексті листа', 'shown in the message text'),
  docModified: bi('Змінено, за документом', 'Modified, as the document says'),
  flags: bi('Позначки', 'Flags'),
  proofStatus: bi('Докази цілісності', 'Proof status'),
  proofVerified: bi(
    'перевірено: кожна подія входить до вершини дерева, хеш файлу збігається з його подією',
    'verified: every event is included in the tree head and the file’s hash matches its event',
  ),
  proofFailed: bi('ПОМИЛКА ПЕРЕВІРКИ', 'CHECK FAILED'),
  events: bi('Події ланцюга зберігання', 'Custody events'),
  eventsNone: bi('подій немає', 'no events'),
  colLeaf: bi('№', 'Leaf'),
  colTime: bi('Час (UTC; Київ)', 'Time (UTC; Kyiv)'),
  colAction: bi('Дія', 'Action'),
  colActor: bi('Хто', 'Actor'),
  colDetails: bi('Подробиці', 'Details'),
  colProof: bi('Доказ', 'Proof'),
  reason: bi('Причина', 'Reason'),
  leafHash: bi('хеш листка', 'leaf hash'),
  actorId: bi('обліковий запис', 'account'),
  included: bi('так', 'yes'),
  notIncluded: bi('НІ', 'NO'),
  kyiv: bi('Київ', 'Kyiv'),
  yes: bi('так', 'yes'),
  no: bi('ні', 'no'),
  page: bi('Сторінка', 'Page'),
  exportShort: bi('Експорт', 'Export'),
  bytes: bi('байтів', 'bytes'),
  truncated: bi('скорочено', 'truncated'),
  workingCopy: bi('РОБОЧА КОПІЯ ДЛЯ ПАРТНЕРА', 'PARTNER WORKING COPY'),
  workingCopyDetail: bi(
    'попередні перегляди без метаданих замість оригіналів, координати округлено до 0,01°, без імен',
    'previews without metadata instead of originals, positions rounded to 0.01°, no names',
  ),
} as const satisfies Record<string, Bilingual>;

/** The closed vocabulary of custody actions (shared/docs/custody.md). */
export const ACTION_LABELS: Readonly<Record<string, Bilingual>> = {
  'evidence.submitted': bi('Подано', 'Submitted'),
  'evidence.metadata_extracted': bi('Метадані зчитано', 'Metadata extracted'),
  'evidence.derivative_created': bi('Створено похідний файл', 'Derivative created'),
  'evidence.viewed': bi('Переглянуто', 'Viewed'),
  'evidence.downloaded': bi('Завантажено', 'Downloaded'),
  'evidence.annotated': bi('Додано примітку', 'Annotated'),
  'evidence.linked': bi('Пов’язано', 'Linked'),
  'evidence.unlinked': bi('Зв’язок скасовано', 'Unlinked'),
  'evidence.status_changed': bi('Змінено статус', 'Status changed'),
  'evidence.verified': bi('Перевірено', 'Verified'),
  'evidence.exported': bi('Експортовано', 'Exported'),
  'evidence.redacted': bi('Відредаговано', 'Redacted'),
  'evidence.fixity_checked': bi('Цілісність перевірено', 'Fixity checked'),
  'evidence.fixity_failed': bi('Цілісність порушено', 'Fixity check failed'),
  'case.created': bi('Справу створено', 'Case created'),
  'case.member_added': bi('Учасника додано', 'Member added'),
  'case.member_removed': bi('Учасника вилучено', 'Member removed'),
  'incident.created': bi('Інцидент створено', 'Incident created'),
  'incident.updated': bi('Інцидент оновлено', 'Incident updated'),
  'casualty.recorded': bi('Постраждалого записано', 'Casualty recorded'),
  'casualty.updated': bi('Запис про постраждалого оновлено', 'Casualty updated'),
  'damage.recorded': bi('Пошкодження записано', 'Damage recorded'),
  'damage.updated': bi('Запис про пошкодження оновлено', 'Damage updated'),
  'remnant.recorded': bi('Залишок боєприпасу записано', 'Munition remnant recorded'),
  'remnant.updated': bi('Запис про залишок боєприпасу оновлено', 'Munition remnant updated'),
  'remnant.transferred': bi('Залишок боєприпасу передано', 'Munition remnant handed over'),
  'export.created': bi('Експорт створено', 'Export created'),
  'export.sealed': bi('Вміст експорту запечатано', 'Export contents sealed'),
  'export.downloaded': bi('Експорт завантажено', 'Export downloaded'),
  'key.rotated': bi('Ключ замінено', 'Key rotated'),
  'key.compromised': bi('Ключ позначено скомпрометованим', 'Key marked compromised'),
  'user.created': bi('Користувача створено', 'User created'),
  'user.updated': bi('Користувача змінено', 'User updated'),
  'user.disabled': bi('Користувача вимкнено', 'User disabled'),
  'user.password_set': bi('Пароль встановлено', 'Password set'),
  'tokens.revoked': bi('Токени відкликано', 'Tokens revoked'),
  'tokens.created': bi('Адміністратор видав токен пристрою', 'Device token issued by an administrator'),
};

/** Evidence flags (api.md, the evidence resource). */
export const FLAG_LABELS: Readonly<Record<string, Bilingual>> = {
  exact_duplicate: bi('точна копія іншого доказу', 'exact duplicate of another item'),
  near_duplicate: bi('дуже схожий на інший доказ', 'near duplicate of another item'),
  location_mismatch: bi('місце у файлі не збігається із заявленим', 'location in the file differs from the declared one'),
  time_mismatch: bi('час у файлі не збігається із заявленим', 'time in the file differs from the declared one'),
  no_embedded_metadata: bi('у файлі немає вбудованих метаданих', 'no metadata embedded in the file'),
  type_mismatch: bi('тип файлу не збігається із заявленим', 'file type differs from the declared one'),
};

/** Evidence statuses. */
export const STATUS_LABELS: Readonly<Record<string, Bilingual>> = {
  received: bi('отримано', 'received'),
  under_review: bi('на розгляді', 'under review'),
  verified: bi('перевірено', 'verified'),
  disputed: bi('оскаржено', 'disputed'),
};

/** Roles of the people (and the archive itself) who act on evidence. */
export const ROLE_LABELS: Readonly<Record<string, Bilingual>> = {
  admin: bi('адміністратор', 'administrator'),
  investigator: bi('розслідувач', 'investigator'),
  documenter: bi('документатор', 'documenter'),
  auditor: bi('аудитор', 'auditor'),
  system: bi('система', 'system'),
};

/** Where an item came from. */
export const SOURCE_TYPE_LABELS: Readonly<Record<string, Bilingual>> = {
  field_capture: bi('зйомка на місці', 'field capture'),
  witness_submission: bi('від свідка', 'witness submission'),
  open_source: bi('відкрите джерело', 'open source'),
  official_record: bi('офіційний документ', 'official record'),
  other: bi('інше', 'other'),
};

/** Export purposes. */
export const PURPOSE_LABELS: Readonly<Record<string, Bilingual>> = {
  court: bi('пакет для суду (оригінали)', 'court package (originals)'),
  partner: bi('робоча копія для партнера', 'partner working copy'),
};

/** What kind of file the package holds for an item. */
export const PACKED_KIND_LABELS: Readonly<Record<string, Bilingual>> = {
  original: bi('оригінал, байти як отримано', 'original, the bytes as received'),
  preview: bi('попередній перегляд без метаданих', 'preview without metadata'),
};

/**
 * The label of a code in one of the tables above, or undefined when the code is unknown (the
 * caller then shows the code itself). Own properties only: a hostile code such as `constructor`
 * must not find Object.prototype.
 */
export function labelFor(table: Readonly<Record<string, Bilingual>>, code: string): Bilingual | undefined {
  return Object.hasOwn(table, code) ? table[code] : undefined;
}

/** "uk / en" as plain text; an unknown code as it is. */
export function plainLabel(label: Bilingual | undefined, code = ''): string {
  return label ? `${label.uk} / ${label.en}` : code;
}

/** The plain-language explanation on the first page, in both languages. */
export function proofExplanation(hasTimestamp: boolean): Bilingual {
  const tsUk = hasTimestamp
    ? ' Незалежний орган позначок часу засвідчив цю вершину (RFC 3161), тобто вона існувала не пізніше зазначеного часу.'
    : '';
  const tsEn = hasTimestamp
    ? ' An independent time-stamping authority countersigned that head (RFC 3161), so it existed no later than the time shown.'
    : '';
  return {
    uk:
      'Кожну дію з матеріалами цього пакета (отримання, перегляд, експорт тощо) записано як подію ланцюга ' +
      'зберігання в журналі Custodia, до якого записи можна лише додавати. Журнал є деревом Меркла, ' +
      'побудованим так само, як журнали Certificate Transparency (RFC 9162). Наведену вище вершину дерева ' +
      `підписано ключем архіву (Ed25519).${tsUk} Для кожної події на наступних сторінках доведено, що вона ` +
      'входить до цієї вершини, а SHA-256 кожного файлу збігається з тим, що записано під час його отримання. ' +
      'Якби відтоді змінився хоч один байт файлу чи події, хеші б не збіглися. Перевірити це можна, не ' +
      'довіряючи нам: README.txt у пакеті пояснює перевірку стандартними засобами (sha256sum, openssl); ' +
      'python3 verify_proofs.py повторно перевіряє кожен хеш, кожен доказ включення та підпис; ' +
      'custodia verify <пакет.zip> робить те саме й виводить рядок для кожного доказу.',
    en:
      'Every action on the material in this package (receipt, viewing, export and the rest) was recorded as a ' +
      'custody event in Custodia’s append-only log, a Merkle tree built as Certificate Transparency builds ' +
      `its logs (RFC 9162). The tree head above is signed with the archive’s key (Ed25519).${tsEn} Each event ` +
      'listed on the following pages is proven to be included in that head, and each file’s SHA-256 matches ' +
      'the one recorded when it was received. Had a single byte of a file or an event changed since, the ' +
      'hashes would no longer match. This can be checked without trusting us: README.txt in the package ' +
      'explains the checks with standard tools (sha256sum, openssl); python3 verify_proofs.py rechecks every ' +
      'hash, every inclusion proof and the signature; custodia verify <package.zip> does the same and prints ' +
      'a line per item.',
  };
}
