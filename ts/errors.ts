/**
 * The one error class of omnitide. `code` is stable (match on it), `message`
 * names the argument and the problem, `cause` carries the underlying error.
 */
export const ErrorCodes = {
  INVALID_ARGUMENT: 'ERR_OMNI_INVALID_ARGUMENT',
  IO: 'ERR_OMNI_IO',
  LIMIT: 'ERR_OMNI_LIMIT',
  INTERNAL: 'ERR_OMNI_INTERNAL',
  CLOSED: 'ERR_OMNI_CLOSED',
  LEDGER_CORRUPT: 'ERR_OMNI_LEDGER_CORRUPT',
  LOCKED: 'ERR_OMNI_LOCKED',
} as const;

export type OmniErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `ERR_OMNI_${string}`;

/**
 * Structured details some codes carry, read from the native error's
 * properties (never parsed out of a message).
 */
export interface OmniErrorFields {
  /** `ERR_OMNI_LEDGER_CORRUPT`: the first index whose stored data failed its check. */
  index?: number;
  [field: string]: string | number | boolean | undefined;
}

// Own properties a field may not overwrite.
const RESERVED = new Set(['code', 'message', 'name', 'stack', 'cause']);

export class OmniError extends Error {
  readonly code: OmniErrorCode;
  /** `ERR_OMNI_LEDGER_CORRUPT`: the first index whose stored data failed its check. */
  declare readonly index?: number;

  /**
   * `fields` become enumerable own properties of the error, as on the native
   * error (and on Node's system errors: `errno`, `path`).
   */
  constructor(code: OmniErrorCode, message: string, options?: { cause?: unknown; fields?: OmniErrorFields }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OmniError';
    this.code = code;
    for (const [k, v] of Object.entries(options?.fields ?? {})) {
      if (!RESERVED.has(k) && v !== undefined) Object.defineProperty(this, k, { value: v, enumerable: true });
    }
  }
}

export function invalidArgument(arg: string, problem: string, cause?: unknown): OmniError {
  return new OmniError(ErrorCodes.INVALID_ARGUMENT, `${arg}: ${problem}`, cause === undefined ? undefined : { cause });
}

function isOmniCode(code: unknown): code is OmniErrorCode {
  return typeof code === 'string' && code.startsWith('ERR_OMNI_');
}

// napi-rs argument conversion errors (a wrong JS type reached the addon).
const NAPI_ARGUMENT_CODES = new Set(['InvalidArg', 'ObjectExpected', 'StringExpected', 'NumberExpected']);

/**
 * Turns an error thrown by the addon into an `OmniError` (idempotent). The
 * addon's errors carry `code` (`ERR_OMNI_*`) and their fields as properties.
 */
export function fromNative(err: unknown): OmniError {
  if (err instanceof OmniError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (isOmniCode(code)) {
    const fields: OmniErrorFields = {};
    for (const [k, v] of Object.entries(err as object)) {
      if (k !== 'code' && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')) fields[k] = v;
    }
    return new OmniError(code, message, { cause: err, fields });
  }
  if (typeof code === 'string' && NAPI_ARGUMENT_CODES.has(code)) return new OmniError(ErrorCodes.INVALID_ARGUMENT, message, { cause: err });
  return new OmniError(ErrorCodes.INTERNAL, message, { cause: err });
}

/** Calls into the addon, translating any failure into an `OmniError`. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/** `callNative` for promise-returning addon calls (sync throws and rejections). */
export async function callNativeAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err);
  }
}
