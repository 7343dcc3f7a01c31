/**
 * Something around the process, not in the code, keeps it from starting or running a command: a
 * folder it cannot write, a port already taken, a user it cannot run PostgreSQL as. The message
 * says what and how to fix it, in a sentence or two; the shells print it alone, without a stack.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
