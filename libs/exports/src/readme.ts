/** What README.txt needs to know about its package. */
export interface ReadmeFacts {
  bagName: string;
  exportId: string;
  caseId: string;
  organization: string;
  purpose: 'court' | 'partner';
  baggingTime: string;
  treeSize: number;
  rootHash: string;
  keyId: string;
  hasTimestamp: boolean;
  evidenceCount: number;
  eventCount: number;
  /** Events left out of a partner copy because their signed bytes name a holder or a device, or carry a reason. */
  eventsWithheld: number;
  /** Events left out of a partner copy because their signed bytes hold the hash of a whole incident, damage or remnant record. */
  eventsNamingWithheld: number;
}

/**
 * README.txt: how to check the package with standard tools alone (coreutils, OpenSSL, Python),
 * in English and Ukrainian. Plain ASCII layout, LF line ends, so any editor shows it.
 */
export function readmeText(f: ReadmeFacts): string {
  const key = `data/custody/keys/${f.keyId}.pem`;
  const tsa = f.hasTimestamp
    ? `   openssl ts -verify -token_in -in data/custody/tree-head.tsr \\
        -data data/custody/tree-head.json -CAfile <the time-stamping authority's root certificate>
   prints "Verification: OK". To read the token (its time, authority, serial number):
   openssl ts -reply -token_in -in data/custody/tree-head.tsr -text`
    : '   This package has no time-stamp token: no time-stamping authority was configured, or it\n   did not answer when the tree head was signed.';
  const tsaUk = f.hasTimestamp
    ? `   openssl ts -verify -token_in -in data/custody/tree-head.tsr \\
        -data data/custody/tree-head.json -CAfile <кореневий сертифікат служби позначок часу>
   виводить "Verification: OK". Прочитати позначку (час, служба, серійний номер):
   openssl ts -reply -token_in -in data/custody/tree-head.tsr -text`
    : '   У цьому пакеті немає позначки часу: службу позначок часу не налаштовано, або вона не\n   відповіла, коли підписувалася голова дерева.';
  const left = f.eventsWithheld + f.eventsNamingWithheld;
  const withheld =
    left > 0
      ? `\n${left} custody event(s) left out: their signed bytes name the holder of a munition\nremnant or the device a file came from, hold the hash of a whole incident, damage or remnant\nrecord (exact positions and addresses included), or carry an actor's free-text reason, which\nmay name someone (${left} подій не включено: їхні підписані байти називають утримувача або\nпристрій, яким зроблено файл, містять геш усього запису про інцидент, пошкодження чи\nуламок або пояснення довільним текстом)`
      : '';
  const what =
    f.purpose === 'court'
      ? 'the original files exactly as they were received'
      : 'WORKING COPIES: previews with no embedded metadata instead of the originals, positions\nrounded to 0.01 degree, no names, original file names, devices or street\naddresses';
  const whatUk =
    f.purpose === 'court'
      ? 'оригінальні файли точно такими, якими їх отримано'
      : 'РОБОЧІ КОПІЇ: замість оригіналів попередні перегляди без вбудованих метаданих, координати\nокруглено до 0,01 градуса, без імен, назв файлів, пристроїв і адрес';
  return `CUSTODIA ${f.purpose === 'court' ? 'COURT PACKAGE' : 'PARTNER WORKING COPY'}
${'='.repeat(60)}
Package ${f.bagName}
Export ${f.exportId} of case ${f.caseId}
Made ${f.baggingTime} by ${f.organization}
${f.evidenceCount} evidence item(s), ${f.eventCount} custody event(s)${withheld}
Tree head: size ${f.treeSize}, root ${f.rootHash}
Signing key id: ${f.keyId}

(Українською - нижче.)

WHAT THIS IS
This folder is a BagIt 1.0 bag (RFC 8493). data/ holds ${what}, what the archive knows
about each item (data/evidence/<id>/record.json), the incident, casualty and damage records,
the munition remnants with the hand-overs of each object (data/remnants.json), and the chain
of custody: every custody event about the selection (data/custody/events.jsonl),
a proof that each event is in the archive's append-only log (data/custody/proofs.json), and the
signed summary of that log the proofs lead to (data/custody/tree-head.json). report.html and
report.pdf say the same for people. You need none of the archive's software to check it.

HOW TO CHECK IT WITH STANDARD TOOLS (run each command inside this folder)
1. Every file is the one packed:
   sha256sum -c manifest-sha256.txt       every line must say OK
   sha512sum -c manifest-sha512.txt
   sha256sum -c tagmanifest-sha256.txt    README.txt, the reports, the script, the manifests
   (macOS: shasum -a 256 -c ...; Windows PowerShell: Get-FileHash -Algorithm SHA256 <file>.)
   Payload-Oxum in bag-info.txt is "<bytes>.<files>" of data/: find data -type f | wc -l
2. The tree head was signed by the archive (OpenSSL 3.0 or newer):
   openssl pkeyutl -verify -pubin -inkey ${key} -rawin \\
        -in data/custody/tree-head.tbs -sigfile data/custody/tree-head.sig
   prints "Signature Verified Successfully". tree-head.tbs is exactly the signed text
   (the head without its signature, RFC 8785); tree-head.sig is the signature over it, the same
   as the "signature" field of tree-head.json (base64).
   The key id is the SHA-256 of the key:
   openssl pkey -pubin -in ${key} -outform DER | sha256sum
   Compare it with the key id the archive publishes elsewhere (GET /api/v1/log/keys, or what it
   gave you before): a package signed by a key you did not get from the archive proves nothing.
   If you were given an older key: python3 verify_proofs.py --trusted-key <that key id>
   follows data/custody/handovers.json, where each key the archive retired signed the log
   up to the event naming the next key, to the key that signed this head. A key keys.json
   marks "compromisedAt" may have leaked: nothing it signed counts on its own, and no
   handover it signed is followed; ask the archive's operator for its current key.
3. The tree head existed no later than an independent authority says (RFC 3161):
${tsa}
4. Every custody event is in the log under that head, no event was altered, and each item's
   file is the one the log recorded when it arrived:
   python3 verify_proofs.py
   (Python 3.6 or newer, standard library only; it also repeats checks 1 and 2, and of check 3
   that the token is for this head and signed with the certificate it carries, not whose
   certificate that is.) This step is
   the one that ties the files to the signed log: whoever changed a file can also recompute
   the manifests of step 1.
5. All of the above at once, with the archive's own verifier:
   custodia verify <this package .zip or folder> [--trusted-key ${f.keyId}]
        [--tsa-cert <authority root .pem>] [--against <archive URL or later head.json>]
   --against asks the archive for a consistency proof from this head to its newest one, showing
   the log was only ever appended to since this package was made.

WHAT THE PROOFS SHOW, AND WHAT THEY DO NOT
- A checked inclusion proof shows the event is in the log the signed head summarises; the
  event's subject.sha256 ties it to the file's SHA-256.
- The manifests are signed by nobody: they show a file was not damaged since packing, not who
  packed it. The signed log covers the events and, through them, each item's file, and the
  seal: data/custody/sealed-manifest-sha256.txt lists every file packed before the head
  (originals, records, names, events.jsonl), and its SHA-256 is in the log as the
  export.sealed event of data/custody/seal.json (verify_proofs.py checks both; by hand:
  sha256sum -c data/custody/sealed-manifest-sha256.txt, then sha256sum of that file against
  the event's subject.sha256). report.html/pdf and verify_proofs.py are not sealed (they
  name the head signed after the seal): they are the archive's rendering. The log also records
  the SHA-256 of the whole .zip in its export.created event (just after packing), which the
  archive's log shows to an auditor (GET /api/v1/log/cases/<case id>); custodia verify
  --against <archive URL>, with an auditor's token, compares the .zip with it.
- The proofs show that the events here are in the log; they cannot show that no other event
  about these items exists. A later consistency check (step 5, --against) shows the log was
  never rewritten or forked.
- The time-stamp shows the head existed at the authority's time; the head's own timestamp is
  the archive's clock.

${'='.repeat(60)}
СУДОВИЙ ПАКЕТ CUSTODIA${f.purpose === 'court' ? '' : ' (РОБОЧА КОПІЯ ДЛЯ ПАРТНЕРІВ)'}

ЩО ЦЕ
Ця тека - пакет BagIt 1.0 (RFC 8493). У data/ - ${whatUk}, усе, що архів знає про кожен
доказ (data/evidence/<id>/record.json), записи про інциденти, жертв і руйнування, залишки
боєприпасів із передаваннями кожного предмета (data/remnants.json), а також ланцюг зберігання: кожна подія щодо вибраних доказів (data/custody/events.jsonl), доказ того,
що кожна подія є в журналі архіву, до якого можна лише дописувати (data/custody/proofs.json),
і підписаний підсумок журналу (data/custody/tree-head.json). report.html і report.pdf
викладають те саме для людей. Для перевірки програмне забезпечення архіву не потрібне.

ЯК ПЕРЕВІРИТИ СТАНДАРТНИМИ ЗАСОБАМИ (кожну команду - у цій теці)
1. Кожен файл - саме той, що був запакований:
   sha256sum -c manifest-sha256.txt       кожен рядок має закінчуватися OK
   sha512sum -c manifest-sha512.txt
   sha256sum -c tagmanifest-sha256.txt
2. Голову дерева підписав архів (OpenSSL 3.0 або новіший):
   openssl pkeyutl -verify -pubin -inkey ${key} -rawin \\
        -in data/custody/tree-head.tbs -sigfile data/custody/tree-head.sig
   виводить "Signature Verified Successfully". Ідентифікатор ключа - SHA-256 ключа:
   openssl pkey -pubin -in ${key} -outform DER | sha256sum
   Порівняйте його з ідентифікатором, який архів публікує окремо (GET /api/v1/log/keys).
   Якщо вам дали старіший ключ: python3 verify_proofs.py --trusted-key <ідентифікатор ключа>
   проходить data/custody/handovers.json, де кожен виведений з ужитку ключ підписав журнал
   до події, що називає наступний ключ, - аж до ключа, яким підписано цю голову. Ключ,
   позначений у keys.json полем "compromisedAt", міг потрапити до чужих рук: підписане ним
   саме по собі нічого не доводить, а його передачу не враховано; запитайте в оператора
   архіву його чинний ключ.
3. Голова дерева існувала не пізніше часу, засвідченого незалежною службою (RFC 3161):
${tsaUk}
4. Кожна подія є в журналі під цією головою, жодну не змінено, і файл кожного доказу - той,
   що журнал записав при надходженні:
   python3 verify_proofs.py
   (Python 3.6 або новіший, лише стандартна бібліотека; скрипт також повторює перевірки 1 і 2, а з
   перевірки 3 - що позначку зроблено саме для цієї голови й підписано сертифікатом, який вона
   містить, але не те, чий це сертифікат.)
   Саме цей крок пов'язує файли з підписаним журналом: хто змінив файл, може перерахувати й
   маніфести з кроку 1.
5. Усе разом - перевіркою архіву:
   custodia verify <цей пакет .zip або тека> [--trusted-key ${f.keyId}]
        [--tsa-cert <корінь служби .pem>] [--against <адреса архіву або пізніша head.json>]

ЩО ДОВОДЯТЬ ДОКАЗИ ВКЛЮЧЕННЯ І ЧОГО НЕ ДОВОДЯТЬ
- Перевірений доказ включення показує, що подія є в журналі, підсумованому підписаною головою;
  subject.sha256 події пов'язує її з SHA-256 файлу.
- Маніфести ніхто не підписує: вони показують, що файл не пошкоджено після пакування, але не те,
  хто пакував. Підписаний журнал охоплює події, а через них - файл кожного доказу, і печатку:
  data/custody/sealed-manifest-sha256.txt перелічує всі файли, запаковані до голови дерева
  (оригінали, записи, імена, events.jsonl), а її SHA-256 є в журналі як подія export.sealed у
  data/custody/seal.json (verify_proofs.py перевіряє обидва). report.html/pdf і
  verify_proofs.py не запечатані: це відображення архіву. Журнал також записує SHA-256 усього
  .zip у події export.created (одразу після пакування), яку журнал архіву показує аудитору;
  custodia verify --against <адреса архіву> з токеном аудитора порівнює з нею .zip.
- Докази показують, що ці події є в журналі; вони не можуть показати, що інших подій щодо цих
  доказів немає. Пізніша перевірка узгодженості (крок 5, --against) показує, що журнал ніколи
  не переписували.
- Позначка часу засвідчує час служби; власна мітка часу голови - це годинник архіву.
`;
}
