import { Accounts1764000700000 } from './1764000700000-accounts.js';
import { Foundation1764000000000 } from './1764000000000-foundation.js';
import { CustodyLog1764000100000 } from './1764000100000-custody-log.js';
import { Evidence1764000200000 } from './1764000200000-evidence.js';
import { EvidenceSearch1764000400000 } from './1764000400000-evidence-search.js';
import { Exports1764000500000 } from './1764000500000-exports.js';
import { EvidenceTimePlace1764000600000 } from './1764000600000-evidence-time-place.js';
import { Records1764000300000 } from './1764000300000-records.js';
import { WordForms1764000800000 } from './1764000800000-word-forms.js';
import { EvidenceLinks1764000900000 } from './1764000900000-evidence-links.js';
import { Uploads1764001000000 } from './1764001000000-uploads.js';
import { Fixity1764001100000 } from './1764001100000-fixity.js';
import { CustodyQueue1764001200000 } from './1764001200000-custody-queue.js';
import { Remnants1764001300000 } from './1764001300000-remnants.js';
import { InterfaceLanguage1764001400000 } from './1764001400000-interface-language.js';
import { AuthChanges1764001500000 } from './1764001500000-auth-changes.js';
import { NearDuplicateIndex1764001600000 } from './1764001600000-near-duplicate-index.js';
import { NearDuplicatePairs1764001700000 } from './1764001700000-near-duplicate-pairs.js';
import { UploadUuids1764001800000 } from './1764001800000-upload-uuids.js';
import { LateTimestamps1764001900000 } from './1764001900000-late-timestamps.js';
import { LoginAttempts1764002000000 } from './1764002000000-login-attempts.js';
import { IncidentLinkedBy1764002100000 } from './1764002100000-incident-linked-by.js';
import { DownloadLinks1764002200000 } from './1764002200000-download-links.js';
import { DeclaredTimeIndex1764002300000 } from './1764002300000-declared-time-index.js';
import { FunctionSearchPath1764002400000 } from './1764002400000-function-search-path.js';
import { KeyHandovers1764002500000 } from './1764002500000-key-handovers.js';

/** Every migration, in order. Released migrations are never edited: add a new one. */
export const MIGRATIONS = [Foundation1764000000000, CustodyLog1764000100000, Evidence1764000200000, Records1764000300000, EvidenceSearch1764000400000, Exports1764000500000, EvidenceTimePlace1764000600000, Accounts1764000700000, WordForms1764000800000, EvidenceLinks1764000900000, Uploads1764001000000, Fixity1764001100000, CustodyQueue1764001200000, Remnants1764001300000, InterfaceLanguage1764001400000, AuthChanges1764001500000, NearDuplicateIndex1764001600000, NearDuplicatePairs1764001700000, UploadUuids1764001800000, LateTimestamps1764001900000, LoginAttempts1764002000000, IncidentLinkedBy1764002100000, DownloadLinks1764002200000, DeclaredTimeIndex1764002300000, FunctionSearchPath1764002400000, KeyHandovers1764002500000];
