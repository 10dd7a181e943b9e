import pino from 'pino';

/**
 * Library logging goes through pino and is silent unless the application
 * injects its own logger (`setLogger`) or passes a `logger` option.
 */

/** One pino log method: `log.info({ fields }, 'message')` or `log.info('message')`. */
export type LogFn = (objOrMessage: unknown, message?: string, ...args: unknown[]) => void;

/**
 * The part of a pino logger the library calls, spelled out structurally so the published declarations
 * do not import pino's types (which need @types/node). Any pino logger satisfies it.
 */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

let root: Logger = pino({ level: 'silent' });

export function setLogger(logger: Logger): void {
  root = logger;
}

/** The logger for one module, or the caller's own when an option supplied it. */
export function loggerFor(module: string, override?: Logger): Logger {
  return (override ?? root).child({ module: `omnitide:${module}` });
}
