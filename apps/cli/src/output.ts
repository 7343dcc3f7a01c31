import os from 'node:os';

/**
 * What a shell says of a command whose reader went away (`custodia storage check | head -2`):
 * killed by SIGPIPE, 128 + 13. Node ignores SIGPIPE and reports EPIPE instead, which unheard
 * ends the process with a stack trace.
 */
export const CLOSED_PIPE_EXIT = 128 + os.constants.signals.SIGPIPE;

/** Thrown by a write to standard output once its reader went away: the command ends there, as at SIGPIPE. */
export class OutputClosed extends Error {
  constructor() {
    super('standard output was closed');
  }
}

/** A process stream whose reader may go away. */
type Stream = Pick<NodeJS.WriteStream, 'write' | 'on' | 'errored'>;

/**
 * Writes to a stream of this process, ending quietly when its reader goes away. Once it has (the
 * write that failed marks the stream errored at once; Node says EPIPE a tick later), a further
 * write to standard output throws OutputClosed, which unwinds the command through its `finally`
 * blocks (the database closed, an embedded server stopped) as SIGPIPE would have ended it; one to
 * standard error (progress, written from inside uploads) is dropped, so it never throws into a
 * library. The process then ends with CLOSED_PIPE_EXIT.
 */
export function closablePipe(stream: Stream, throwOnClosed: boolean): { write: (text: string) => void; closed: () => boolean } {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
    // Said once the command may have returned its own code: this one wins, as a signal would.
    process.exitCode = CLOSED_PIPE_EXIT;
  });
  return {
    write: (text) => {
      if (closed && throwOnClosed) throw new OutputClosed();
      if (closed) return;
      stream.write(text);
      if (stream.errored) closed = true;
    },
    closed: () => closed,
  };
}
