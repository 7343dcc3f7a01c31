import { describe, expect, it } from 'vitest';
import { riffDateTime } from './riff-avi.js';

describe('riffDateTime', () => {
  it('reads the spellings cameras write in IDIT and ICRD as EXIF dates', () => {
    expect(riffDateTime('THU OCT 26 16:46:04 2006')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('Mon Mar  3 09:05:00 2003\n')).toBe('2003:03:03 09:05:00');
    expect(riffDateTime('Oct 26 16:46:04 2006')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('2006:10:26 16:46:04')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('2006-10-26T16:46:04')).toBe('2006:10:26 16:46:04');
    expect(riffDateTime('2006/1/2 3:04:05')).toBe('2006:01:02 03:04:05');
  });

  it('takes no date alone, no unknown month and no garbage for a capture time', () => {
    for (const text of ['2006-10-26', 'Foo Oct 26 16:46:04', 'Thu Xyz 26 16:46:04 2006', '', 'noise']) expect(riffDateTime(text), text).toBeNull();
  });
});
