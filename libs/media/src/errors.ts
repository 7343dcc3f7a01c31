/** Why an image could not be turned into derivatives (`limit_exceeded`: the decoder ran out of its time or memory). */
export type UndecodableReason = 'unsupported_format' | 'too_many_pixels' | 'corrupt' | 'limit_exceeded';

/** The file is not an image we can decode; the job should record `reason` and stop retrying. */
export class UndecodableMediaError extends Error {
  override readonly name = 'UndecodableMediaError';

  constructor(
    readonly reason: UndecodableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
