import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths that never reach a log line in clear. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'key',
  'ha1',
  '*.ha1',
  '*.ha1Md5',
  '*.ha1Sha256',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'redisUrl',
  '*.redisUrl',
];

export interface LoggerSettings {
  readonly level: string;
  readonly name: string;
  /** Defaults to stdout. */
  readonly destination?: NodeJS.WritableStream;
}

/** The one logger of a process; pass it (or a child) down explicitly. */
export function createLogger(s: LoggerSettings): Logger {
  const opts: LoggerOptions = {
    name: s.name,
    level: s.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, proc: s.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return s.destination ? pino(opts, s.destination as pino.DestinationStream) : pino(opts);
}

/** A silent logger for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
