#!/usr/bin/env node
import { runCli } from './cli.js';
import { CLOSED_PIPE_EXIT, closablePipe } from './output.js';

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const stdout = closablePipe(process.stdout, true);
const stderr = closablePipe(process.stderr, false);

/**
 * `custodia upload` stops gracefully on the first Ctrl-C (SIGINT): transfers under way are cut,
 * submissions already sent are waited for, and the summary is written; a second one ends the
 * process at once. Other commands keep the default (Ctrl-C ends them).
 */
function gracefulInterrupt(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    stderr.write('\nInterrupted: cutting the transfers under way and writing the summary (Ctrl-C again to quit at once)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return controller.signal;
}

const argv = process.argv.slice(2);
const code = await runCli(argv, {
  env: process.env,
  stdout: stdout.write,
  stderr: stderr.write,
  readStdin,
  stderrIsTty: process.stderr.isTTY,
  ...(argv[0] === 'upload' ? { interrupt: gracefulInterrupt() } : {}),
});
// A write that found its reader gone, on either stream, ends the process as SIGPIPE would, whatever the command returned.
process.exitCode = stdout.closed() || stderr.closed() ? CLOSED_PIPE_EXIT : code;
