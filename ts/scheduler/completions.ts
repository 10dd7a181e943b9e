/** Completion records posted by the workers: walking a packed batch and turning each into a result or an error. */
import { ErrorCodes, type OmniError } from '../errors.js';
import { COMPLETION_HEADER, STATUS_NO_SUCH_TASK, STATUS_OK, STATUS_SKIPPED, STATUS_THREW, readValue } from './codec.js';
import { omni, SchedulerErrorCodes } from './errors.js';

/** One record of a completion batch: its payload is `buf[start, end)`. */
export interface Completion {
  id: number;
  status: number;
  start: number;
  end: number;
}

/** The records of a packed completion batch, in order. */
export function* completions(buf: Buffer): Generator<Completion> {
  let off = 0;
  while (off < buf.length) {
    const id = buf.readDoubleLE(off);
    const len = buf.readUInt32LE(off + 8);
    const status = buf[off + 12];
    const start = off + COMPLETION_HEADER;
    const end = start + len;
    off = end;
    yield { id, status, start, end };
  }
}

/** What a completion settles its task with. `spec` names the task module in errors. */
export function decodeCompletion(
  buf: Buffer,
  c: Completion,
  task: { name: string; id: number },
  spec: string | undefined,
): { ok: true; value: unknown } | { ok: false; error: OmniError } {
  const what = `task '${task.name}' (id ${c.id})`;
  if (c.status === STATUS_OK) {
    try {
      return { ok: true, value: readValue(buf, c.start, c.end) };
    } catch (e) {
      return { ok: false, error: omni(ErrorCodes.INTERNAL, `${what}: result could not be decoded: ${(e as Error).message}`, e) };
    }
  }
  let payload: unknown;
  try {
    payload = readValue(buf, c.start, c.end);
  } catch {
    payload = undefined;
  }
  if (c.status === STATUS_THREW) {
    const info = (payload ?? {}) as { name?: string; message?: string; stack?: string; code?: string };
    const remote = Object.assign(new Error(info.message ?? String(payload)), info);
    return { ok: false, error: omni(SchedulerErrorCodes.TASK_FAILED, `${what} threw: ${info.message ?? String(payload)}`, remote) };
  }
  if (c.status === STATUS_NO_SUCH_TASK) {
    return { ok: false, error: omni(ErrorCodes.INVALID_ARGUMENT, `name: the task module '${spec}' exports no function '${task.name}'`) };
  }
  if (c.status === STATUS_SKIPPED) return { ok: false, error: omni(SchedulerErrorCodes.TASK_CANCELLED, `${what} was cancelled`) };
  return { ok: false, error: omni(SchedulerErrorCodes.TASK_FAILED, `${what}: ${String(payload)}`) };
}
