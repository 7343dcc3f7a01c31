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
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: stdout.write,
  stderr: stderr.write,
  readStdin,
  stderrIsTty: process.stderr.isTTY,
});
// A write that found its reader gone, on either stream, ends the process as SIGPIPE would, whatever the command returned.
process.exitCode = stdout.closed() || stderr.closed() ? CLOSED_PIPE_EXIT : code;
