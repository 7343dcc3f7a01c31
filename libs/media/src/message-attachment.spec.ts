import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXPECTED_METADATA } from '../../../test/fixtures/media/expected-metadata.js';
import { messageAttachmentBytes } from './message-attachment.js';
import { fixture } from './test-support/fixtures.js';

/** The fixture files each message carries, in the order its reading lists them. */
const CARRIED: Record<string, string[]> = {
  'tip.eml': ['exif-ne-offset.jpg'],
  'tip-forwarded.eml': ['exif-nw-no-offset.jpg', 'not-an-image.pdf'],
  'outlook-attachments.msg': ['exif-nw-no-offset.jpg', 'not-an-image.pdf', 'android.mp4'],
};

describe('messageAttachmentBytes', () => {
  it.each(Object.entries(CARRIED))('gives back each file %s carries, byte for byte, by the SHA-256 it was listed with', async (message, files) => {
    const listed = EXPECTED_METADATA[message]!.document!.attachments!;
    for (const [i, name] of files.entries()) {
      expect(await messageAttachmentBytes(fixture(message), listed[i]!.sha256), `${message}: ${name}`).toEqual(readFileSync(fixture(name)));
    }
  });

  it("gives a forwarded message's bytes as listed, and nothing for a hash the message does not carry or a file that is no message", async () => {
    const forwarded = EXPECTED_METADATA['tip-forwarded.eml']!.document!.attachments![2]!;
    expect((await messageAttachmentBytes(fixture('tip-forwarded.eml'), forwarded.sha256))?.length).toBe(forwarded.sizeBytes);
    const absent = 'ab'.repeat(32);
    for (const file of ['tip.eml', 'outlook-attachments.msg', 'outlook.msg', 'exif-ne-offset.jpg', 'statement-libreoffice.doc']) {
      expect(await messageAttachmentBytes(fixture(file), absent), file).toBeNull();
    }
  });
});
