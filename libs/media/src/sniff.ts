import { fileTypeFromFile } from 'file-type';

/** Fallback for anything file-type does not recognise (plain text included). */
export const UNKNOWN_MEDIA_TYPE = 'application/octet-stream';

/** Media type from the file's bytes (magic numbers), ignoring its name and any declared type. */
export async function sniffMediaType(filePath: string): Promise<string> {
  try {
    const detected = await fileTypeFromFile(filePath);
    return detected?.mime ?? UNKNOWN_MEDIA_TYPE;
  } catch (error) {
    // A missing or unreadable file is the caller's problem; odd bytes are not.
    if (isSystemError(error)) throw error;
    return UNKNOWN_MEDIA_TYPE;
  }
}

function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}
