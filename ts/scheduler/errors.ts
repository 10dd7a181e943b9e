import { OmniError, type OmniErrorCode } from '../errors.js';

/** Error codes of `omnitide/scheduler` (in addition to the shared `ErrorCodes`). */
export const SchedulerErrorCodes = {
  /** The task function threw or rejected; `cause` carries the remote error. */
  TASK_FAILED: 'ERR_OMNI_TASK_FAILED',
  /** `timeoutMs` elapsed (the task's signal was aborted). */
  TASK_TIMEOUT: 'ERR_OMNI_TASK_TIMEOUT',
  /** Cancelled through its AbortSignal (or its graph was cancelled). */
  TASK_CANCELLED: 'ERR_OMNI_TASK_CANCELLED',
  /** The worker running the task died (process.exit, out of memory, fatal error). */
  WORKER_CRASHED: 'ERR_OMNI_WORKER_CRASHED',
  /** A graph task was not run because a task it depends on failed. */
  DEPENDENCY_FAILED: 'ERR_OMNI_DEPENDENCY_FAILED',
  /** A graph finished with failed tasks (`errors` and `result` attached). */
  GRAPH_FAILED: 'ERR_OMNI_GRAPH_FAILED',
} as const;

/** An `OmniError` with an optional cause. */
export function omni(code: OmniErrorCode, message: string, cause?: unknown): OmniError {
  return new OmniError(code, message, cause === undefined ? undefined : { cause });
}
