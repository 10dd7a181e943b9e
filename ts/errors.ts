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
} as const;

export type OmniErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `ERR_OMNI_${string}`;

export class OmniError extends Error {
  readonly code: OmniErrorCode;

  constructor(code: OmniErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OmniError';
    this.code = code;
  }
}

export function invalidArgument(arg: string, problem: string, cause?: unknown): OmniError {
  return new OmniError(ErrorCodes.INVALID_ARGUMENT, `${arg}: ${problem}`, cause === undefined ? undefined : { cause });
}

const NATIVE_CODE = /^\[(ERR_OMNI_[A-Z0-9_]+)\] ([\s\S]*)$/;

/** Turns an error thrown by the addon into an `OmniError` (idempotent). */
export function fromNative(err: unknown): OmniError {
  if (err instanceof OmniError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const m = NATIVE_CODE.exec(message);
  if (m) return new OmniError(m[1] as OmniErrorCode, m[2], { cause: err });
  // napi-rs argument conversion errors (wrong JS type reached the addon).
  const code = (err as { code?: unknown })?.code;
  if (code === 'InvalidArg' || code === 'ObjectExpected' || code === 'StringExpected' || code === 'NumberExpected') {
    return new OmniError(ErrorCodes.INVALID_ARGUMENT, message, { cause: err });
  }
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
