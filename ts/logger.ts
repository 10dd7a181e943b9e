import pino, { type Logger } from 'pino';

/**
 * Library logging goes through pino and is silent unless the application
 * injects its own logger (`setLogger`) or passes a `logger` option.
 */
let root: Logger = pino({ level: 'silent' });

export type { Logger };

export function setLogger(logger: Logger): void {
  root = logger;
}

/** The logger for one module, or the caller's own when an option supplied it. */
export function loggerFor(module: string, override?: Logger): Logger {
  return (override ?? root).child({ module: `omnitide:${module}` });
}
