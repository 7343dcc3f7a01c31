#!/usr/bin/env python3
"""Check a Custodia court package offline, with nothing but Python 3.6+ and its standard library.

Usage:  python3 verify_proofs.py [BAG FOLDER] [--trusted-key KEYID]...
The bag folder defaults to the folder this script is in (it ships at the top of the bag).

What it checks, in this order (one line of output per area, then one line per problem found):
  1. bagit.txt declares a BagIt bag (RFC 8493) with UTF-8 tag files.
  2. Payload manifests, manifest-sha256.txt and manifest-sha512.txt: every listed file exists and
     hashes as listed, every file under data/ is listed in both, and no listed path leaves the bag
     (no absolute path, no "..", no symbolic link pointing outside). Paths are percent-decoded as
     RFC 8493 section 2.1.3 says (%25 -> "%", %0D -> CR, %0A -> LF).
  3. Tag manifests, tagmanifest-sha256.txt and tagmanifest-sha512.txt: the same for the tag files,
     and each tag file the package format names (bagit.txt, bag-info.txt, the payload manifests,
     README.txt, report.html, report.pdf, this script) is listed in both when it is present.
  4. The signed tree head, data/custody/tree-head.json: its fields, its RFC 8785 form, its Ed25519
     signature (RFC 8032) over the RFC 8785 bytes of {keyId, rootHash, timestamp, treeSize}, made
     with the key of data/custody/keys.json named by the head's keyId; that keyId is the SHA-256 of
     the key's SubjectPublicKeyInfo; that tree-head.tbs and tree-head.sig (what README.txt's openssl
     command checks) hold the same bytes and signature; with --trusted-key (once per key the
     archive published: after a rotation, the old and the new), that one of them signed it.
  5. bag-info.txt: Payload-Oxum ("bytes.files" of data/) and the Custodia-Tree-Size,
     Custodia-Root-Hash and Custodia-Key-Id fields agree with the bag and its tree head.
  6. The custody events, data/custody/events.jsonl (one event per line) with data/custody/proofs.json
     (entry k for line k): each line is exactly the RFC 8785 canonical form of its own JSON; its leaf
     hash SHA-256(0x00 || line) equals the entry's leafHash; the event's index equals leafIndex;
     leaf indexes strictly increase; and the RFC 9162 (section 2.1.3.2) inclusion proof leads from
     the leaf to the signed root at the head's treeSize.
  7. The seal, data/custody/seal.json with data/custody/sealed-manifest-sha256.txt: the manifest
     lists every payload file packed before the head was signed (originals, records, names,
     events.jsonl) and each still hashes as listed; its SHA-256 is subject.sha256 of the
     export.sealed event of this export (External-Identifier), whose inclusion proof leads to the
     signed root; no other payload file was added. This ties the records and the list of events to
     the log: a changed record or a dropped event line is caught, whatever manifests were redone.
     (Packages made before 2026-12-06 have no seal: the area says SKIPPED.)
  8. Items, data/evidence/<id>/: each holds one original whose SHA-256 is subject.sha256 of a proven
     evidence.submitted event of that item (a partner copy: a preview whose SHA-256 is that of a
     proven evidence.derivative_created event of kind "preview"). This is the check that ties the
     files to the log: manifests alone can be recomputed by whoever changed a file.
  9. The RFC 3161 time-stamp token, data/custody/tree-head.tsr, where there is one (bag-info.txt's
     Custodia-Timestamp-Token says whether there should be): its message imprint is the hash of
     data/custody/tree-head.json's bytes; its signed attributes hold the hash of its TSTInfo
     (RFC 5652 section 5.4); their signature verifies with a certificate the token carries
     (RSA PKCS #1 v1.5, ECDSA P-256 or P-384; other algorithms are named and left to openssl); its
     time (genTime) is not more than 5 minutes before the head's own timestamp.

What it does not check:
  - Whether the time-stamp's certificate is the authority's (its chain to the authority's root, its
    validity, its revocation): README.txt's openssl command does, given that root.
  - Completeness. An inclusion proof shows that an event is in the log, not that the package holds
    every event about an item: a package with some events (and their proofs) left out still passes.
  - That the key belongs to the archive: obtain its keyId independently and pass --trusted-key.
  - That this head is consistent with later heads of the log (`custodia verify --against` does).
  - Itself: a changed script is caught by the tag manifests only if the script is honest; read it.

Output: one line per area, at most 50 problems listed per area (all are counted), then the verdict.
Exit code: 0 when every check passed, 1 when any failed, 2 on a usage error.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import sys

CHUNK = 1 << 20  # files are hashed 1 MiB at a time, so a multi-gigabyte original never sits in memory
SHOWN_PER_AREA = 50  # problems printed per area; all of them are counted
HASH_HEX = re.compile(r'[0-9a-f]{64}')
TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z')
ED25519_SPKI_PREFIX = bytes.fromhex('302a300506032b6570032100')  # SubjectPublicKeyInfo DER, then 32 key bytes
PAYLOAD_MANIFESTS = (('manifest-sha256.txt', 'sha256'), ('manifest-sha512.txt', 'sha512'))
TAG_MANIFESTS = (('tagmanifest-sha256.txt', 'sha256'), ('tagmanifest-sha512.txt', 'sha512'))
TAG_FILES = ('bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'manifest-sha512.txt',
             'README.txt', 'report.html', 'report.pdf', 'verify_proofs.py')


# Characters that are invisible or change how the text around them is shown: C0 and C1 controls
# (a terminal's escapes start with ESC or CSI), DEL, bidirectional marks and overrides, zero-width
# and other invisible characters. A file name in the package is the submitter's: printed raw, it could
# redraw the screen over a FAILED line.
HIDDEN = re.compile('[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u180e\u200b\u200e\u200f'
                    '\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]')


def say(text):
    """Prints a line with hidden characters shown as [U+XXXX], even where the console cannot show
    every character of a file name."""
    text = HIDDEN.sub(lambda m: '[U+%04X]' % ord(m.group()), text.replace('\t', ' '))
    encoding = sys.stdout.encoding or 'utf-8'
    sys.stdout.write(text.encode(encoding, 'backslashreplace').decode(encoding) + '\n')


def is_hash_hex(value):
    return isinstance(value, str) and HASH_HEX.fullmatch(value) is not None


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


# ---- RFC 8785 (JSON Canonicalization Scheme) --------------------------------------------------

ESCAPES = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}
MUST_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def canonical_string(text):
    """RFC 8785 section 3.2.2.2: only '"', '\\' and control characters are escaped."""
    return '"' + MUST_ESCAPE.sub(lambda m: ESCAPES.get(m.group()) or '\\u%04x' % ord(m.group()), text) + '"'


def canonical_number(value):
    """RFC 8785 section 3.2.2.3: the ECMAScript Number-to-String of the IEEE 754 double."""
    value = float(value)  # JSON numbers are doubles, integers included (raises OverflowError past 1e308)
    if value != value or value in (float('inf'), float('-inf')):
        raise ValueError('NaN and Infinity are not JSON numbers')
    if value == 0:
        return '0'  # -0 too
    # repr() gives the shortest digits that read back as the same double, as ECMAScript asks.
    mantissa, _, exponent = repr(abs(value)).partition('e')
    whole, _, fraction = mantissa.partition('.')
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)  # value = 0.<digits> * 10^point
    point -= len(digits) - len(digits.lstrip('0'))
    digits = digits.strip('0')
    k, n = len(digits), point  # ECMAScript's k and n
    if k <= n <= 21:
        text = digits + '0' * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + '.' + digits[n:]
    elif -6 < n <= 0:
        text = '0.' + '0' * -n + digits
    else:
        text = digits[0] + ('.' + digits[1:] if k > 1 else '') + 'e' + ('+' if n > 0 else '-') + str(abs(n - 1))
    return ('-' if value < 0 else '') + text


def canonical_text(value):
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, (int, float)):
        return canonical_number(value)
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, list):
        return '[' + ','.join(canonical_text(item) for item in value) + ']'
    if isinstance(value, dict):
        # Keys sorted by UTF-16 code units (section 3.2.3); big-endian UTF-16 bytes sort the same way.
        keys = sorted(value, key=lambda key: key.encode('utf-16-be'))
        return '{' + ','.join(canonical_string(key) + ':' + canonical_text(value[key]) for key in keys) + '}'
    raise ValueError('not a JSON value')


def canonical_bytes(value):
    """The RFC 8785 UTF-8 bytes of a parsed JSON value; a lone surrogate raises UnicodeEncodeError."""
    return canonical_text(value).encode('utf-8')


def reject_constant(name):
    raise ValueError('%s is not a JSON number' % name)


def parse_json(data):
    """Parses UTF-8 JSON bytes strictly (no NaN, no Infinity); raises ValueError otherwise."""
    return json.loads(data.decode('utf-8'), parse_constant=reject_constant)


def load_json(bag, relative):
    """(raw bytes, parsed value, problem or None) of a JSON file of the bag; never raises."""
    try:
        with open(os.path.join(bag, *relative.split('/')), 'rb') as f:
            data = f.read()
    except OSError as error:
        return None, None, '%s: cannot be read (%s)' % (relative, error.strerror or error)
    try:
        return data, parse_json(data), None
    except (ValueError, RecursionError) as error:
        return data, None, '%s: is not valid JSON (%s)' % (relative, error)


# ---- RFC 9162 Merkle tree --------------------------------------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b'\x00' + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b'\x01' + left + right).digest()


def root_from_inclusion_proof(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2: the root the proof leads to, or None if it has the wrong length."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:  # step 4.b.ii: levels where this node has no right sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_consistency(first, second, proof, first_root, second_root):
    """RFC 9162 section 2.1.4.2: whether the proof shows the tree of `second` leaves extends that of `first`."""
    if first == second:
        return not proof and first_root == second_root
    if first < 1 or first > second or not proof:
        return False
    if first & (first - 1) == 0:  # an exact power of 2: the first root is where the path starts
        proof = [first_root] + proof
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# ---- Ed25519 verification: RFC 8032 section 5.1.7, after the reference code of section 6 ----

P = 2 ** 255 - 19                                        # the field prime
L = 2 ** 252 + 27742317777372353535851937790883648493   # the order of the base point


def inverse(x):
    return pow(x, P - 2, P)


D = -121665 * inverse(121666) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_add(a, b):
    """Sum of two points in extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, xy = T/Z."""
    A = (a[1] - a[0]) * (b[1] - b[0]) % P
    B = (a[1] + a[0]) * (b[1] + b[0]) % P
    C = 2 * a[3] * b[3] * D % P
    Dz = 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dz - C, Dz + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def point_mul(s, point):
    result = (0, 1, 1, 0)  # the neutral element
    while s > 0:
        if s & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        s >>= 1
    return result


def point_equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def point_decode(data):
    """The point a 32-byte string encodes (section 5.1.3), or None."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, 'little')
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return None
    x2 = (y * y - 1) * inverse(D * y * y + 1) % P
    if x2 == 0:
        if sign:
            return None
        x = 0
    else:
        x = pow(x2, (P + 3) // 8, P)
        if (x * x - x2) % P != 0:
            x = x * SQRT_M1 % P
        if (x * x - x2) % P != 0:
            return None
        if x & 1 != sign:
            x = P - x
    return (x, y, 1, x * y % P)


BASE = point_decode((4 * inverse(5) % P).to_bytes(32, 'little'))  # y = 4/5, x even


def ed25519_verify(public_key, message, signature):
    """RFC 8032 section 5.1.7, checking [S]B = R + [k]A' (the cofactorless form section 6 uses)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = point_decode(public_key), point_decode(signature[:32])
    s = int.from_bytes(signature[32:], 'little')
    if a is None or r is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), 'little') % L
    return point_equal(point_mul(s, BASE), point_add(r, point_mul(k, a)))


# ---- The bag (RFC 8493) ----------------------------------------------------------------------

def read_text(bag, name, problem):
    """A tag file's UTF-8 text, or None after reporting why it cannot be read."""
    try:
        with open(os.path.join(bag, name), 'rb') as f:
            return f.read().decode('utf-8')
    except OSError as error:
        problem('%s: cannot be read (%s)' % (name, error.strerror or error))
    except UnicodeDecodeError:
        problem('%s: is not UTF-8' % name)
    return None


def path_problem(bag, path):
    """Why a manifest path may not be used, or None."""
    parts = path.split('/')
    if path.startswith('/') or '\\' in path or re.match(r'[A-Za-z]:', path) or \
            any(part in ('', '.', '..') for part in parts):
        return 'is not a plain relative path inside the bag'
    root = os.path.realpath(bag)
    if not os.path.realpath(os.path.join(root, *parts)).startswith(root + os.sep):
        return 'leads outside the bag'
    return None


def read_manifest(bag, name, algorithm, problem):
    """{path: expected hex digest} of one manifest."""
    entries = {}
    text = read_text(bag, name, problem)
    if text is None:
        return entries
    width = hashlib.new(algorithm).digest_size * 2
    for number, line in enumerate(text.split('\n'), 1):
        line = line.rstrip('\r')
        if not line:
            continue
        match = re.fullmatch(r'([0-9A-Fa-f]+)[ \t]+(.+)', line)
        if not match or len(match.group(1)) != width:
            problem('%s line %d: is not "<%s in hex>  <path>"' % (name, number, algorithm.upper()))
            continue
        # RFC 8493 section 2.1.3: %25, %0D and %0A stand for "%", CR and LF.
        path = re.sub(r'%(25|0[AaDd])', lambda m: chr(int(m.group(1), 16)), match.group(2))
        why = path_problem(bag, path)
        if why:
            problem('%s line %d: %s %s' % (name, number, path, why))
        elif path in entries:
            problem('%s line %d: %s is listed twice' % (name, number, path))
        else:
            entries[path] = match.group(1).lower()
    return entries


def payload_files(bag):
    """{path: size} of every file under data/, paths relative to the bag with "/"."""
    files = {}
    for folder, _, names in os.walk(os.path.join(bag, 'data')):
        for name in names:
            full = os.path.join(folder, name)
            files[os.path.relpath(full, bag).replace(os.sep, '/')] = os.path.getsize(full)
    return files


DIGESTS = {}  # path -> {algorithm: hex}: a file is read once, whichever areas check it (originals run to gigabytes)


def file_digests(path, algorithms):
    known = DIGESTS.setdefault(path, {})
    missing = [algorithm for algorithm in algorithms if algorithm not in known]
    if missing:
        hashers = dict((algorithm, hashlib.new(algorithm)) for algorithm in missing)
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(CHUNK), b''):
                for hasher in hashers.values():
                    hasher.update(chunk)
        known.update((algorithm, hasher.hexdigest()) for algorithm, hasher in hashers.items())
    return dict((algorithm, known[algorithm]) for algorithm in algorithms)


def check_manifests(problem, bag, manifests, payload):
    listed = dict((name, read_manifest(bag, name, algorithm, problem)) for name, algorithm in manifests)
    paths = sorted(set(path for entries in listed.values() for path in entries))
    for path in paths:
        if payload != path.startswith('data/'):
            problem('%s: a %s manifest lists it' % (path, 'payload' if payload else 'tag'))
            continue
        full = os.path.join(bag, *path.split('/'))
        if not os.path.isfile(full):
            problem('%s: is listed but missing' % path)
            continue
        try:
            actual = file_digests(full, [algorithm for _, algorithm in manifests])
        except OSError as error:
            problem('%s: cannot be read (%s)' % (path, error.strerror or error))
            continue
        for name, algorithm in manifests:
            expected = listed[name].get(path)
            if expected is not None and expected != actual[algorithm]:
                problem('%s: its %s differs from %s' % (path, algorithm.upper(), name))
    present = sorted(payload_files(bag)) if payload else [f for f in TAG_FILES if os.path.isfile(os.path.join(bag, f))]
    for path in present:
        for name, _ in manifests:
            if path not in listed[name]:
                problem('%s: is not listed in %s' % (path, name))
    return '%d files, each hashed as listed%s' % (len(paths), ', none unlisted under data/' if payload else '')


def check_declaration(problem, bag):
    text = read_text(bag, 'bagit.txt', problem)
    if text is not None and not re.fullmatch(r'BagIt-Version: 1\.0\r?\nTag-File-Character-Encoding: UTF-8\r?\n?', text):
        problem('bagit.txt: is not a BagIt 1.0 declaration with UTF-8 tag files (exports.md fixes 1.0)')
    return 'bagit.txt declares a BagIt bag'


def check_bag_info(problem, bag, head):
    text = read_text(bag, 'bag-info.txt', problem)
    if text is None:
        return None
    info = {}
    label = None
    for line in text.replace('\r\n', '\n').split('\n'):
        if line[:1] in (' ', '\t') and label:  # a continuation line (RFC 8493 section 2.2.2)
            info[label][-1] += ' ' + line.strip()
        elif ':' in line:
            label, value = (part.strip() for part in line.split(':', 1))
            info.setdefault(label, []).append(value)
    files = payload_files(bag)
    oxum = '%d.%d' % (sum(files.values()), len(files))
    found = info.get('Payload-Oxum', [])
    if found != [oxum]:
        problem('bag-info.txt: Payload-Oxum is %s, but data/ holds %s (bytes.files)' % (' and '.join(found) or 'missing', oxum))
    if isinstance(head, dict):
        for label, field in (('Custodia-Tree-Size', 'treeSize'), ('Custodia-Root-Hash', 'rootHash'), ('Custodia-Key-Id', 'keyId')):
            for value in info.get(label, []):
                if value != str(head.get(field)):
                    problem('bag-info.txt: %s is %s, but tree-head.json says %s' % (label, value, head.get(field)))
    return 'Payload-Oxum %s matches data/' % oxum


# ---- The signed tree head and the custody events ---------------------------------------------

def head_field_problems(head, name='tree-head.json'):
    if not isinstance(head, dict):
        return ['%s: is not a JSON object' % name]
    problems = ['%s: has an unexpected field %s' % (name, key) for key in sorted(head)
                if key not in ('treeSize', 'rootHash', 'timestamp', 'keyId', 'signature')]
    if not is_integer(head.get('treeSize')) or head['treeSize'] < 0:
        problems.append('%s: treeSize is not a non-negative integer' % name)
    for field in ('rootHash', 'keyId'):
        if not is_hash_hex(head.get(field)):
            problems.append('%s: %s is not 64 lowercase hex digits' % (name, field))
    timestamp = head.get('timestamp')
    try:
        valid = TIMESTAMP.fullmatch(timestamp) and datetime.datetime.strptime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ')
    except (TypeError, ValueError):
        valid = False
    if not valid:
        problems.append('%s: timestamp is not RFC 3339 UTC with milliseconds' % name)
    signature = head.get('signature')
    try:
        valid = len(base64.b64decode(signature, validate=True)) == 64 and \
            base64.b64encode(base64.b64decode(signature)).decode() == signature
    except (TypeError, ValueError):
        valid = False
    if not valid:
        problems.append('%s: signature is not the base64 of 64 bytes' % name)
    return problems


def check_tree_head(problem, bag, raw, head, error, trusted_keys):
    if error:
        return problem(error)
    for message in head_field_problems(head):
        problem(message)
    if raw is not None and isinstance(head, dict) and raw != canonical_bytes(head):
        problem('tree-head.json: is not in RFC 8785 canonical form')
    if head_field_problems(head):
        if trusted_keys and isinstance(head, dict) and head.get('keyId') not in trusted_keys:
            problem('tree-head.json: is signed by key %s, not by %s' % (head.get('keyId'), describe_keys(trusted_keys)))
        return None
    key_id = head['keyId']
    signed = canonical_bytes(dict((field, head[field]) for field in ('keyId', 'rootHash', 'timestamp', 'treeSize')))
    signature = base64.b64decode(head['signature'])
    # The files README.txt's openssl command checks must be this head's bytes and signature.
    for name, expected in (('tree-head.tbs', signed), ('tree-head.sig', signature)):
        path = os.path.join(bag, 'data', 'custody', name)
        if os.path.isfile(path):
            with open(path, 'rb') as f:
                if f.read() != expected:
                    problem('%s: does not hold the %s of tree-head.json' % (name, 'signed bytes' if name.endswith('tbs') else 'signature'))
    _, keys, error = load_json(bag, 'data/custody/keys.json')
    if error:
        return problem(error)
    # README.txt's openssl command reads keys/<key id>.pem: it must be the key keys.json holds.
    for key in keys if isinstance(keys, list) else []:
        key_id = key.get('keyId') if isinstance(key, dict) else None
        path = os.path.join(bag, 'data', 'custody', 'keys', '%s.pem' % key_id) if is_hash_hex(key_id) else None
        if path and os.path.isfile(path):
            with open(path, 'rb') as f:
                if f.read().decode('utf-8', 'replace').strip() != str(key.get('publicKeyPem', '')).strip():
                    problem('keys/%s.pem: differs from keys.json' % key_id)
    key_id = head['keyId']
    why = head_signature_problem(head, keys, 'tree-head.json', 'the tree head')
    if why:
        return problem(why)
    trusted = follow_handovers(problem, bag, head, keys, trusted_keys)
    marked = compromised_keys(keys)
    if key_id in marked:
        # The archive signs with its active key: a package made after its key was marked is not signed by it.
        return problem('tree-head.json: is signed by key %s, which keys.json marks compromised since %s: '
                       'a head it signed proves nothing on its own' % (key_id, marked[key_id]))
    if trusted_keys and key_id not in trusted:
        handovers = os.path.isfile(os.path.join(bag, *HANDOVERS.split('/')))
        notes = ''.join('; key %s was marked compromised by the archive at %s: whoever holds it could have signed '
                        'any head or handover, so nothing it signed is trusted on its own; pin the archive\'s current '
                        'key, learnt from its operator out of band' % (k, marked[k]) for k in sorted(trusted_keys) if k in marked)
        return problem('tree-head.json: is signed by key %s, not by %s%s%s' % (
            key_id, describe_keys(trusted_keys), ' nor any key they handed over to' if handovers else '', notes))
    handed = ', reached from the trusted key through handovers.json' if trusted_keys and key_id not in trusted_keys else ''
    return 'tree size %d, root %s, signature valid, key %s%s' % (head['treeSize'], head['rootHash'], key_id, handed)


def describe_keys(keys):
    return 'the trusted key %s' % keys[0] if len(keys) == 1 else 'any of the trusted keys %s' % ', '.join(keys)


def head_signature_problem(head, keys, name, what):
    """Why a well-formed signed head (of file `name`, `what` in messages) does not verify with the keys of keys.json, or None."""
    key_id = head['keyId']
    entries = [k for k in keys if isinstance(k, dict) and k.get('keyId') == key_id] if isinstance(keys, list) else []
    if not entries:
        return 'keys.json: has no key with keyId %s, the key of %s' % (key_id, what)
    der = pem_to_der(entries[0].get('publicKeyPem'))
    if len(der) != 44 or not der.startswith(ED25519_SPKI_PREFIX):
        return 'keys.json: key %s is not an Ed25519 public key in PEM' % key_id
    if hashlib.sha256(der).hexdigest() != key_id:
        return 'keys.json: key %s does not hash to its keyId (SHA-256 of its DER)' % key_id
    signed = canonical_bytes(dict((field, head[field]) for field in ('keyId', 'rootHash', 'timestamp', 'treeSize')))
    if not ed25519_verify(der[12:], signed, base64.b64decode(head['signature'])):
        return '%s: the Ed25519 signature does not verify with key %s' % (name, key_id)
    return None


HANDOVERS = 'data/custody/handovers.json'


def follow_handovers(problem, bag, head, keys, trusted_keys):
    """Key rotation: handovers.json holds each retired key's handover under the package's head, the head
    that ends with the key.rotated event retiring the key, signed by that key, with the event's inclusion
    proof and the consistency proof from it to the package's head. Answers the trusted keys and every
    key a trusted one handed over to, less those keys.json marks compromised. Each entry must verify,
    trusted keys or not."""
    marked = compromised_keys(keys)
    if not os.path.isfile(os.path.join(bag, *HANDOVERS.split('/'))):
        return set(trusted_keys) - set(marked)  # a package made before keys signed handovers
    _, handovers, error = load_json(bag, HANDOVERS)
    if error or not isinstance(handovers, list):
        problem(error or 'handovers.json: is not a JSON array')
        return set(trusted_keys) - set(marked)
    valid = []
    for k, entry in enumerate(handovers):
        why = handover_problem(entry, keys, head)
        if why:
            problem('handovers.json entry %d: %s' % (k, why))
        else:
            valid.append(entry)
    trusted = set(trusted_keys)
    for entry in sorted(valid, key=lambda e: e['leafIndex']):
        # A leaked key could sign a handover to anyone: none signed by a key marked compromised is followed.
        if entry['head']['keyId'] in trusted and entry['head']['keyId'] not in marked:
            trusted.add(entry['event']['details']['keyId'])
    return trusted - set(marked)


def compromised_keys(keys):
    """keys.json's keys the archive marked compromised (they leaked, or may have), with when: nothing they
    signed is trusted on its own."""
    if not isinstance(keys, list):
        return {}
    return dict((k['keyId'], k['compromisedAt']) for k in keys
                if isinstance(k, dict) and isinstance(k.get('keyId'), str) and isinstance(k.get('compromisedAt'), str))


def handover_problem(entry, keys, head):
    if not isinstance(entry, dict) or not isinstance(entry.get('head'), dict) or not isinstance(entry.get('event'), dict):
        return 'is not { head, event, leafIndex, inclusionProof, consistencyProof }'
    signed, event = entry['head'], entry['event']
    fields = head_field_problems(signed, 'its head')
    if fields:
        return fields[0]
    why = head_signature_problem(signed, keys, 'its head', 'its head')
    if why:
        return why
    details = event.get('details') if isinstance(event.get('details'), dict) else {}
    if event.get('action') != 'key.rotated':
        return 'its event is %s, not key.rotated' % event.get('action')
    if details.get('previousKeyId') != signed['keyId']:
        return 'its event retires %s, not the key that signed its head (%s)' % (details.get('previousKeyId'), signed['keyId'])
    if not is_hash_hex(details.get('keyId')):
        return 'its event names no next key'
    index, size = entry.get('leafIndex'), signed['treeSize']
    if not is_integer(index) or index != size - 1 or event.get('index') != index:
        return 'its event is not the last leaf of its head'
    paths = [entry.get('inclusionProof'), entry.get('consistencyProof')]
    if not all(isinstance(p, list) and all(is_hash_hex(h) for h in p) for p in paths):
        return 'has no inclusionProof and consistencyProof lists of 64-digit lowercase hex hashes'
    inclusion, consistency = ([bytes.fromhex(h) for h in p] for p in paths)
    if root_from_inclusion_proof(index, size, leaf_hash(canonical_bytes(event)), inclusion) != bytes.fromhex(signed['rootHash']):
        return 'its inclusion proof does not lead from its event to its head'
    if size > head['treeSize']:
        return 'is of a larger tree (%d) than the package\'s head (%d)' % (size, head['treeSize'])
    if not verify_consistency(size, head['treeSize'], consistency, bytes.fromhex(signed['rootHash']), bytes.fromhex(head['rootHash'])):
        return 'its consistency proof does not lead from its head (size %d) to the package\'s head: not the same log' % size
    return None


def pem_to_der(pem):
    """The DER bytes of a PEM public key, or b'' if it is not one."""
    pattern = r'\s*-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----\s*'
    body = re.fullmatch(pattern, pem) if isinstance(pem, str) else None
    try:
        return base64.b64decode(re.sub(r'\s', '', body.group(1)), validate=True) if body else b''
    except ValueError:
        return b''


def proof_entry_problem(entry):
    if not isinstance(entry, dict):
        return 'is not an object'
    if not is_integer(entry.get('leafIndex')) or entry['leafIndex'] < 0:
        return 'has no non-negative integer leafIndex'
    if not is_hash_hex(entry.get('leafHash')):
        return 'has no leafHash of 64 lowercase hex digits'
    proof = entry.get('inclusionProof')
    if not isinstance(proof, list) or not all(is_hash_hex(p) for p in proof):
        return 'has no inclusionProof list of 64-digit lowercase hex hashes'
    return None


NOT_JSON = object()  # stands for a line that did not parse (already reported)


def check_events(problem, bag, head, proven):
    """Checks every event line and its proof; appends each event whose proof leads to the signed root to `proven`."""
    _, proofs, error = load_json(bag, 'data/custody/proofs.json')
    if error or not isinstance(proofs, list):
        problem(error or 'proofs.json: is not a JSON array')
        proofs = []
    usable_head = not head_field_problems(head)
    if not usable_head:
        problem('inclusion proofs cannot be checked without a well-formed tree head')
    root = bytes.fromhex(head['rootHash']) if usable_head else None
    count, previous = 0, -1
    try:
        events = open(os.path.join(bag, 'data', 'custody', 'events.jsonl'), 'rb')
    except OSError as error:
        return problem('events.jsonl: cannot be read (%s)' % (error.strerror or error))
    with events:
        for count, line in enumerate(events, 1):
            where = 'events.jsonl line %d' % count
            if line.endswith(b'\n'):
                line = line[:-1]
            else:
                problem('%s: does not end with LF' % where)
            try:
                event = parse_json(line)
                if canonical_bytes(event) != line:
                    problem('%s: is not in RFC 8785 canonical form' % where)
            except (ValueError, OverflowError, RecursionError) as error:  # UnicodeError is a ValueError
                event = NOT_JSON
                problem('%s: is not valid I-JSON (%s)' % (where, error))
            if count > len(proofs):
                problem('%s: has no entry in proofs.json' % where)
                continue
            entry = proofs[count - 1]
            why = proof_entry_problem(entry)
            if why:
                problem('proofs.json entry %d (for %s): %s' % (count - 1, where, why))
                continue
            index = entry['leafIndex']
            if index <= previous:
                problem('%s: leaf index %d does not follow %d (indexes must strictly increase)' % (where, index, previous))
            previous = index
            event_index = event.get('index') if isinstance(event, dict) else None
            if event is not NOT_JSON and not (is_integer(event_index) and event_index == index):
                problem('%s: the event index is not leafIndex %d' % (where, index))
            if leaf_hash(line).hex() != entry['leafHash']:
                problem('%s: its leaf hash is not the leafHash of proofs.json entry %d' % (where, count - 1))
            elif root is not None:
                proof = [bytes.fromhex(p) for p in entry['inclusionProof']]
                computed = root_from_inclusion_proof(index, head['treeSize'], leaf_hash(line), proof)
                if computed is None:
                    problem('%s: leaf %d has no inclusion proof of that length in a tree of %d' % (where, index, head['treeSize']))
                elif computed != root:
                    problem('%s: the inclusion proof of leaf %d does not lead to the signed root' % (where, index))
                elif isinstance(event, dict):
                    proven.append(event)
    if len(proofs) > count:
        problem('proofs.json: has %d entries for %d event lines' % (len(proofs), count))
    return '%d events, each canonical, with its leaf hash and inclusion proof leading to the signed root' % count


SEAL = 'data/custody/seal.json'
SEALED_SINCE = '2026-12-06T05:00:00.000Z'  # packages whose head was signed from then on carry a seal
SEALED_MANIFEST = 'data/custody/sealed-manifest-sha256.txt'
# Payload files written after the seal: those that depend on the head signed over it.
AFTER_SEAL = re.compile(r'data/custody/(seal\.json|sealed-manifest-sha256\.txt|proofs\.json|tree-head\.(json|tbs|sig|tsr)|keys\.json|handovers\.json|keys/[0-9a-f]{64}\.pem)')


def bag_info_field(bag, label):
    """A bag-info.txt field's value (labels compared without case, RFC 8493), or None."""
    try:
        with open(os.path.join(bag, 'bag-info.txt'), encoding='utf-8') as f:
            for line in f:
                if line.lower().startswith(label.lower() + ':'):
                    return line.split(':', 1)[1].strip()
    except (OSError, ValueError):
        pass
    return None


def check_seal(problem, bag, head):
    """The seal: data/custody/sealed-manifest-sha256.txt lists every payload file packed before the
    package's head was signed (originals, records, names, events.jsonl); its SHA-256 is subject.sha256
    of the export.sealed event in data/custody/seal.json, whose inclusion proof leads to the signed
    root. So a record edited, or an event line dropped, with every manifest recomputed, is caught."""
    have_seal = os.path.isfile(os.path.join(bag, *SEAL.split('/')))
    have_manifest = os.path.isfile(os.path.join(bag, *SEALED_MANIFEST.split('/')))
    if not have_seal and not have_manifest:
        # The head's time is signed: a package on a head from after seals began had one, removed since.
        if not head_field_problems(head) and head['timestamp'] >= SEALED_SINCE:
            problem('the package has no seal, though its head was signed at %s, after packages were sealed (%s): '
                    'seal.json and the sealed manifest were removed' % (head['timestamp'], SEALED_SINCE))
            return None
        return ('SKIPPED: no seal (a package made before 2026-12-06); its records and list of events are tied to the log '
                'only through the .zip\'s SHA-256 in its export.created event')
    if not have_seal:
        problem('%s: is missing, though the package has a sealed manifest' % SEAL)
    if not have_manifest:
        problem('%s: is missing, though the package has a seal' % SEALED_MANIFEST)
        return None
    leaf_index = None
    if have_seal:
        _, entry, error = load_json(bag, SEAL)
        if error:
            problem(error)
        elif (not isinstance(entry, dict) or not is_integer(entry.get('leafIndex')) or not is_hash_hex(entry.get('leafHash'))
              or not isinstance(entry.get('inclusionProof'), list) or not all(is_hash_hex(p) for p in entry['inclusionProof'])
              or not isinstance(entry.get('event'), dict)):
            problem('seal.json: is not { leafIndex, leafHash, inclusionProof, event }')
        else:
            leaf_index, event = entry['leafIndex'], entry['event']
            line = canonical_bytes(event)
            if leaf_hash(line).hex() != entry['leafHash']:
                problem('seal.json: its event does not hash to its leafHash (the event was altered)')
            elif not head_field_problems(head):
                proof = [bytes.fromhex(p) for p in entry['inclusionProof']]
                if root_from_inclusion_proof(leaf_index, head['treeSize'], leaf_hash(line), proof) != bytes.fromhex(head['rootHash']):
                    problem('seal.json: the inclusion proof of leaf %d does not lead to the signed root' % leaf_index)
            if event.get('index') != leaf_index:
                problem('seal.json: the event index is not leafIndex %d' % leaf_index)
            if event.get('action') != 'export.sealed':
                problem('seal.json: holds a %s event, not export.sealed' % event.get('action'))
            subject = event.get('subject') if isinstance(event.get('subject'), dict) else {}
            export_id = bag_info_field(bag, 'External-Identifier')
            if subject.get('type') != 'export' or subject.get('id') != export_id:
                problem('seal.json: seals export %s, not this package (External-Identifier %s)' % (subject.get('id'), export_id))
            digest = file_digests(os.path.join(bag, *SEALED_MANIFEST.split('/')), ['sha256'])['sha256']
            if subject.get('sha256') != digest:
                problem('%s: is not the manifest the log sealed (its SHA-256 differs from the export.sealed event)' % SEALED_MANIFEST)
    sealed = read_manifest(bag, SEALED_MANIFEST, 'sha256', problem)
    for path, expected in sorted(sealed.items()):
        full = os.path.join(bag, *path.split('/'))
        if not os.path.isfile(full):
            problem('%s: was sealed but is missing (removed)' % path)
        elif file_digests(full, ['sha256'])['sha256'] != expected:
            problem('%s: is not what the log sealed (its SHA-256 differs)' % path)
    for path in sorted(payload_files(bag)):
        if path not in sealed and not AFTER_SEAL.fullmatch(path):
            problem('%s: was not sealed: it was added after the package was made' % path)
    return '%d payload files (originals, records, events) are those the log\'s export.sealed event (leaf %s) records' % (len(sealed), leaf_index)


def check_items(problem, bag, proven):
    """Each item's file is the one the log recorded: an original's SHA-256 is subject.sha256 of a
    proven evidence.submitted event of that item; a partner copy's preview is the sha256 of a proven
    evidence.derivative_created event (kind "preview"). Without this, a replaced original with
    recomputed manifests passes every other check."""
    partner = bag_info_field(bag, 'Custodia-Purpose') == 'partner'  # court (originals) unless it says partner (previews)
    root = os.path.join(bag, 'data', 'evidence')
    ids = sorted(os.listdir(root)) if os.path.isdir(root) else []
    for item in ids:
        folder = os.path.join(root, item)
        if partner:
            files = ['preview.jpg'] if os.path.isfile(os.path.join(folder, 'preview.jpg')) else []
        else:
            originals = os.path.join(folder, 'original')
            files = ['original/' + name for name in sorted(os.listdir(originals))] if os.path.isdir(originals) else []
            if len(files) != 1:
                problem('%s: %s' % (item, 'more than one original' if files else 'the original is missing'))
                continue
        for name in files:
            digest = file_digests(os.path.join(folder, *name.split('/')), ['sha256'])['sha256']
            events = [e for e in proven if isinstance(e.get('subject'), dict) and e['subject'].get('type') == 'evidence' and e['subject'].get('id') == item]
            if partner:
                bound = any(e.get('action') == 'evidence.derivative_created' and isinstance(e.get('details'), dict)
                            and e['details'].get('kind') == 'preview' and e['details'].get('sha256') == digest for e in events)
            else:
                bound = any(e.get('action') == 'evidence.submitted' and e['subject'].get('sha256') == digest for e in events)
            if not bound:
                problem('%s/%s: no proven %s event records its SHA-256 %s (the file is not the one the archive logged)'
                        % (item, name, 'evidence.derivative_created' if partner else 'evidence.submitted', digest))
    return '%d item(s), each %s the one its proven custody events record' % (len(ids), 'preview' if partner else 'original')

# ---- RFC 3161 time-stamp token: DER (X.690), CMS (RFC 5652), TSTInfo (RFC 3161 section 2.4.2) ----

def der_elements(data):
    """The DER elements of `data`, each (tag, content, whole element); ValueError when malformed."""
    elements, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError('a DER element is cut short')
        tag, length, start = data[at], data[at + 1], at + 2
        if tag & 0x1f == 0x1f:
            raise ValueError('a multi-byte DER tag')
        if length & 0x80:
            count = length & 0x7f
            if not 1 <= count <= 4 or start + count > len(data):
                raise ValueError('a malformed DER length')
            length, start = int.from_bytes(data[start:start + count], 'big'), start + count
        if start + length > len(data):
            raise ValueError('a DER element runs past its container')
        elements.append((tag, data[start:start + length], data[at:start + length]))
        at = start + length
    return elements


def der_one(data, tag):
    """The content of the single DER element `data` is, which must have this tag."""
    elements = der_elements(data)
    if len(elements) != 1 or elements[0][0] != tag:
        raise ValueError('expected one DER element of tag 0x%02x' % tag)
    return elements[0][1]


def der_oid(content):
    """Dotted form of an OBJECT IDENTIFIER's content."""
    arcs, value = [], 0
    for byte in content:
        value = value << 7 | byte & 0x7f
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise ValueError('an empty object identifier')
    first = min(arcs[0] // 40, 2)
    return '.'.join(str(arc) for arc in [first, arcs[0] - 40 * first] + arcs[1:])


def algorithm_oid(content):
    """The OID of an AlgorithmIdentifier, given its content (OID, then parameters), or None."""
    elements = der_elements(content)
    return der_oid(elements[0][1]) if elements and elements[0][0] == 0x06 else None


HASH_OIDS = {'1.3.14.3.2.26': 'sha1', '2.16.840.1.101.3.4.2.1': 'sha256',
             '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512'}
# RFC 8017 section 9.2, note 1: DER of DigestInfo before the hash value.
DIGEST_INFO = {'sha1': '3021300906052b0e03021a05000414',
               'sha256': '3031300d060960864801650304020105000420',
               'sha384': '3041300d060960864801650304020205000430',
               'sha512': '3051300d060960864801650304020305000440'}
RSA_SIGNATURES = {'1.2.840.113549.1.1.1', '1.2.840.113549.1.1.5', '1.2.840.113549.1.1.11',
                  '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13'}
ECDSA_SIGNATURES = {'1.2.840.10045.4.1', '1.2.840.10045.4.3.2', '1.2.840.10045.4.3.3', '1.2.840.10045.4.3.4'}
# FIPS 186-4 D.1.2 (SEC 2): prime, b, base point x and y, order; a = -3 for both.
CURVES = {
    '1.2.840.10045.3.1.7': (
        2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1,
        0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b,
        0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
        0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5,
        0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551),
    '1.3.132.0.34': (
        2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1,
        0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef,
        0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7,
        0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f,
        0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973),
}


def ec_add(curve, a, b):
    """Sum of two affine points of y^2 = x^3 - 3x + b (None is the point at infinity)."""
    p = curve[0]
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % p == 0:
        return None
    if a == b:
        slope = (3 * a[0] * a[0] - 3) * pow(2 * a[1], p - 2, p) % p
    else:
        slope = (b[1] - a[1]) * pow(b[0] - a[0], p - 2, p) % p
    x = (slope * slope - a[0] - b[0]) % p
    return (x, (slope * (a[0] - x) - a[1]) % p)


def ec_mul(curve, k, point):
    result = None
    while k > 0:
        if k & 1:
            result = ec_add(curve, result, point)
        point = ec_add(curve, point, point)
        k >>= 1
    return result


def ecdsa_verify(curve, point, digest, signature):
    """FIPS 186-4 section 6.4.2 (SEC 1 section 4.1.4), the signature a DER SEQUENCE { r, s }."""
    p, b, gx, gy, n = curve
    x, y = point
    if not (0 <= x < p and 0 <= y < p) or (y * y - x * x * x + 3 * x - b) % p != 0:
        return False
    r, s = (int.from_bytes(content, 'big') for _, content, _ in der_elements(der_one(signature, 0x30)))
    if not (0 < r < n and 0 < s < n):
        return False
    e = int.from_bytes(digest, 'big') >> max(0, 8 * len(digest) - n.bit_length())
    w = pow(s, n - 2, n)
    total = ec_add(curve, ec_mul(curve, e * w % n, (gx, gy)), ec_mul(curve, r * w % n, point))
    return total is not None and total[0] % n == r


def rsa_verify(modulus, exponent, hash_name, digest, signature):
    """RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2.2): the signature opens to the padded DigestInfo."""
    size = (modulus.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    opened = pow(int.from_bytes(signature, 'big'), exponent, modulus).to_bytes(size, 'big')
    info = bytes.fromhex(DIGEST_INFO[hash_name]) + digest
    return size >= len(info) + 11 and opened == b'\x00\x01' + b'\xff' * (size - len(info) - 3) + b'\x00' + info


def certificate_facts(certificate):
    """(subject's common name or None, SubjectPublicKeyInfo as (algorithm OID, parameter OID, key bits))."""
    tbs = der_elements(der_one(certificate, 0x30))[0][1]
    fields = der_elements(tbs)
    if fields[0][0] == 0xa0:  # [0] version
        fields = fields[1:]
    subject, spki = fields[4][1], fields[5][1]
    name = None
    for _, rdn, _ in der_elements(subject):
        for _, attribute, _ in der_elements(rdn):
            oid, value = der_elements(attribute)[:2]
            if der_oid(oid[1]) == '2.5.4.3':
                name = value[1].decode('utf-16-be' if value[0] == 0x1e else 'utf-8', 'replace')
    algorithm, bits = der_elements(spki)[:2]
    parts = der_elements(algorithm[1])
    parameter = der_oid(parts[1][1]) if len(parts) > 1 and parts[1][0] == 0x06 else None
    if bits[0] != 0x03 or not bits[1] or bits[1][0] != 0:
        raise ValueError('a public key that is not a whole BIT STRING')
    return name, (der_oid(parts[0][1]), parameter, bits[1][1:])


def signature_holds(key, signature_oid, hash_name, digest, signature):
    """True or False when this key and algorithm can be checked here, None when they cannot."""
    algorithm, parameter, bits = key
    if signature_oid in RSA_SIGNATURES and algorithm == '1.2.840.113549.1.1.1':
        modulus, exponent = (int.from_bytes(c, 'big') for _, c, _ in der_elements(der_one(bits, 0x30))[:2])
        return rsa_verify(modulus, exponent, hash_name, digest, signature)
    if signature_oid in ECDSA_SIGNATURES and algorithm == '1.2.840.10045.2.1' and parameter in CURVES:
        curve = CURVES[parameter]
        size = (curve[0].bit_length() + 7) // 8
        if len(bits) != 1 + 2 * size or bits[0] != 4:  # uncompressed points only
            return None
        point = (int.from_bytes(bits[1:1 + size], 'big'), int.from_bytes(bits[1 + size:], 'big'))
        return ecdsa_verify(curve, point, digest, signature)
    return None


def check_timestamp(problem, bag, head):
    """The RFC 3161 token of data/custody/tree-head.tsr: for tree-head.json's bytes, signed with a
    certificate it carries, not older than the head. Whose certificate that is, openssl checks."""
    declared = bag_info_field(bag, 'Custodia-Timestamp-Token')
    try:
        with open(os.path.join(bag, 'data/custody/tree-head.tsr'), 'rb') as f:
            token = f.read()
    except OSError:
        if declared == 'yes':
            problem('bag-info.txt says the head was time-stamped, but data/custody/tree-head.tsr is missing (removed?)')
        return 'SKIPPED: the package carries no RFC 3161 time-stamp'
    with open(os.path.join(bag, 'data/custody/tree-head.json'), 'rb') as f:
        stamped = f.read()
    content_type, content = der_elements(der_one(token, 0x30))[:2]
    if der_oid(content_type[1]) != '1.2.840.113549.1.7.2' or content[0] != 0xa0:
        problem('tree-head.tsr: is not CMS SignedData (RFC 5652)')
        return None
    signed_data = der_elements(der_one(content[1], 0x30))
    encapsulated = der_elements(signed_data[2][1])
    if der_oid(encapsulated[0][1]) != '1.2.840.113549.1.9.16.1.4':
        problem('tree-head.tsr: does not hold a TSTInfo (RFC 3161 section 2.4.2)')
        return None
    if len(encapsulated) != 2 or encapsulated[1][0] != 0xa0:
        problem('tree-head.tsr: holds no TSTInfo')
        return None
    tst_info = der_one(encapsulated[1][1], 0x04)  # the TSTInfo's DER, which the signed attributes hash
    fields = der_elements(der_one(tst_info, 0x30))
    imprint_algorithm, imprint = der_elements(fields[2][1])[:2]
    imprint_hash = HASH_OIDS.get(algorithm_oid(imprint_algorithm[1]))
    serial, gen_time = int.from_bytes(fields[3][1], 'big'), fields[4][1].decode('ascii')
    if imprint_hash is None or imprint_hash == 'sha1':
        problem('tree-head.tsr: its message imprint uses a hash not accepted here (%s)' % algorithm_oid(imprint_algorithm[1]))
    elif hashlib.new(imprint_hash, stamped).digest() != imprint[1]:
        problem('tree-head.tsr: time-stamps other data than data/custody/tree-head.json (its %s differs)' % imprint_hash)
    when = datetime.datetime.strptime(gen_time[:14], '%Y%m%d%H%M%S').replace(tzinfo=datetime.timezone.utc)
    if isinstance(head, dict) and isinstance(head.get('timestamp'), str) and TIMESTAMP.fullmatch(head['timestamp']):
        head_time = datetime.datetime.strptime(head['timestamp'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
        if when + datetime.timedelta(minutes=5) < head_time:
            problem('tree-head.tsr: its time %s is older than the head it stamps (%s)' % (when.isoformat(), head['timestamp']))
    # The signer: its signed attributes hold the TSTInfo's hash, and their DER (as a SET) is what it signed.
    rest = signed_data[3:]
    certificates = [whole for tag, _, whole in der_elements(rest[0][1]) if tag == 0x30] if rest and rest[0][0] == 0xa0 else []
    signer_infos = der_elements(rest[-1][1]) if rest and rest[-1][0] == 0x31 else []
    if len(signer_infos) != 1:
        problem('tree-head.tsr: has %d signers, not one' % len(signer_infos))
        return None
    signer = der_elements(signer_infos[0][1])
    digest_name = HASH_OIDS.get(algorithm_oid(signer[2][1]))
    if signer[3][0] != 0xa0 or digest_name is None:
        problem('tree-head.tsr: its signer has no signed attributes or an unknown digest algorithm')
        return None
    signed_attributes, signature_oid, signature = signer[3], algorithm_oid(signer[4][1]), signer[5][1]
    digests = [der_one(values[1][2], 0x31) for values in (der_elements(attribute)[:2] for _, attribute, _ in der_elements(signed_attributes[1]))
               if der_oid(values[0][1]) == '1.2.840.113549.1.9.4']
    if len(digests) != 1 or der_one(digests[0], 0x04) != hashlib.new(digest_name, tst_info).digest():
        problem("tree-head.tsr: its signed attributes do not hold its TSTInfo's %s (it was altered after signing)" % digest_name)
    signed_digest = hashlib.new(digest_name, b'\x31' + signed_attributes[2][1:]).digest()
    verdicts = []
    for certificate in certificates:
        name, key = certificate_facts(certificate)
        verdicts.append((signature_holds(key, signature_oid, digest_name, signed_digest, signature), name, certificate))
    good = [(name, certificate) for held, name, certificate in verdicts if held]
    by = 'time-stamped %s (serial %d)' % (when.strftime('%Y-%m-%dT%H:%M:%SZ'), serial)
    if good:
        name, certificate = good[0]
        return ('%s by %s; the signature verifies with the certificate it carries (SHA-256 %s); whether that is '
                "the authority's certificate is not checked here: README.txt step 3" % (by, name or 'an unnamed authority', hashlib.sha256(certificate).hexdigest()))
    if any(held is False for held, _, _ in verdicts):
        problem('tree-head.tsr: its signature does not verify with the certificates it carries')
        return None
    if not certificates:
        return '%s; the token carries no certificate, so its signature is not checked here: README.txt step 3' % by
    return '%s; its signature (algorithm %s) is not checked here: README.txt step 3' % (by, signature_oid)



# ---- Running the checks ----------------------------------------------------------------------

def run_area(title, check, *args):
    """Runs one check area and prints its verdict and problems; returns the number of problems."""
    problems = []
    try:
        summary = check(problems.append, *args)
    except Exception as error:  # malformed input ends as a reported problem, never as a traceback
        problems.append('the check stopped on unexpected input (%s: %s)' % (type(error).__name__, error))
        summary = None
    if problems:
        say('FAILED  %s: %d problem(s)' % (title, len(problems)))
        for message in problems[:SHOWN_PER_AREA]:
            say('        - ' + message)
        if len(problems) > SHOWN_PER_AREA:
            say('        ... and %d more' % (len(problems) - SHOWN_PER_AREA))
    elif summary and summary.startswith('SKIPPED: '):
        say('skipped %s: %s' % (title, summary[len('SKIPPED: '):]))
    else:
        say('ok      %s: %s' % (title, summary))
    return len(problems)


def canonicalize_stdin():
    """Test hook: hex of the RFC 8785 bytes of each JSON line on stdin, or "error"."""
    for line in sys.stdin.buffer.read().split(b'\n'):
        if line:
            try:
                say(canonical_bytes(parse_json(line)).hex())
            except (ValueError, OverflowError, RecursionError):
                say('error')
    return 0


def consistency_stdin():
    """Test hook: for each JSON line [first, second, proof, first root, second root] (hex), whether the proof holds."""
    for line in sys.stdin.buffer.read().split(b'\n'):
        if line:
            first, second, proof, root1, root2 = parse_json(line)
            say(str(verify_consistency(first, second, [bytes.fromhex(p) for p in proof], bytes.fromhex(root1), bytes.fromhex(root2))).lower())
    return 0


def main():
    parser = argparse.ArgumentParser(description='Check a Custodia court package offline.')
    parser.add_argument('bag', nargs='?', default=os.path.dirname(os.path.abspath(__file__)),
                        help='the bag folder (default: the folder this script is in)')
    parser.add_argument('--trusted-key', metavar='KEYID', action='append',
                        help='refuse a tree head signed by any other key (repeat it for each key the archive published)')
    parser.add_argument('--canonicalize-stdin', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--consistency-stdin', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.canonicalize_stdin:
        return canonicalize_stdin()
    if args.consistency_stdin:
        return consistency_stdin()
    trusted_keys = [key.lower() for key in args.trusted_key or []]
    if not all(is_hash_hex(key) for key in trusted_keys):
        parser.error('--trusted-key takes a keyId: 64 hex digits')
    if not os.path.isdir(args.bag):
        parser.error('%s is not a folder' % args.bag)
    bag = args.bag
    say('Checking the Custodia package in %s' % os.path.abspath(bag))
    raw, head, error = load_json(bag, 'data/custody/tree-head.json')
    failures = run_area('bag declaration', check_declaration, bag)
    failures += run_area('payload manifests', check_manifests, bag, PAYLOAD_MANIFESTS, True)
    failures += run_area('tag manifests', check_manifests, bag, TAG_MANIFESTS, False)
    failures += run_area('tree head', check_tree_head, bag, raw, head, error, trusted_keys)
    failures += run_area('bag-info.txt', check_bag_info, bag, head)
    proven = []
    failures += run_area('custody events', check_events, bag, head, proven)
    failures += run_area('seal', check_seal, bag, head)
    failures += run_area('items', check_items, bag, proven)
    failures += run_area('time-stamp', check_timestamp, bag, head)
    if failures:
        say('FAILED: %d problem(s)' % failures)
    elif trusted_keys:
        say('ALL CHECKS PASSED')
    else:  # keys.json is the package's own: whoever made the package could have signed it
        say('ALL CHECKS PASSED, SIGNER NOT CHECKED: give --trusted-key with the key id the archive published')
    return 0 if failures == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
