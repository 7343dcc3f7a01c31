import { inspect } from 'node:util';
import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino censors wherever they appear. Request logs carry no headers or bodies at all
 * (see the HTTP serialisers); this list is the second line of defence for objects that code
 * passes to the logger by mistake.
 */
export const REDACTED_PATHS = [
  'password',
  'token',
  'accessToken',
  'authorization',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'location',
  '*.location',
  'lat',
  'lon',
];

/** The process's JSON logger. `destination` lets tests read what would be written. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'custodia' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: safeError, error: safeError },
    },
    destination,
  );
}

/**
 * Errors keep their type, message, code and stack only: database errors carry the failed
 * query's parameters (token hashes, personal data), which must never reach a log.
 */
export function safeError(error: unknown): Record<string, unknown> {
  // Something thrown that is not an Error (a library's plain object): say what it was, bounded.
  if (!(error instanceof Error)) return { type: typeof error, message: inspect(error, { depth: 2, breakLength: Infinity }).slice(0, 2000) };
  const code = (error as { code?: unknown }).code ?? (error as { driverError?: { code?: unknown } }).driverError?.code;
  return { type: error.name, message: error.message, code, stack: error.stack };
}

/** Routes NestJS's own messages into the JSON logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    // Nest narrates every module and route at "log"; that is debug detail for an operator.
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, stack: trace }, message instanceof Error ? message.message : String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
