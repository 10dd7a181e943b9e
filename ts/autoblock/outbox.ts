/**
 * The on-disk outbox of a replicated node: signed decisions handed to the
 * transport but not yet acknowledged as stored by the stream. Each batch is
 * appended and fsynced before the decision is enforced and returned, so a node
 * closed (or killed) while the cluster is unreachable republishes them when it
 * opens again; the transport's message ID (derived from the signature) and the
 * ledger's decision IDs make the republish idempotent.
 *
 * Format: one envelope (JSON, no newlines) per line. A torn last line (crash in
 * mid-write) is not a complete envelope and is dropped — its decision was never
 * returned to the caller, because the fsync had not completed.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

export class Outbox {
  readonly #path: string;
  readonly #sync: boolean;
  /** envelopes in publish order */
  #pending: string[];

  private constructor(path: string, sync: boolean, pending: string[]) {
    this.#path = path;
    this.#sync = sync;
    this.#pending = pending;
  }

  /** Opens `path` (missing = empty). `sync` false skips fsync (durability 'none'). */
  static open(path: string, sync: boolean): Outbox {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const pending: string[] = [];
    const lines = text.split('\n');
    // the last element is '' after a complete write, or a torn line after a crash
    for (const line of lines.slice(0, -1)) if (line.length) pending.push(line);
    const box = new Outbox(path, sync, pending);
    if (lines.at(-1)) box.#rewrite();
    return box;
  }

  /** Envelopes not yet acknowledged by the stream, oldest first. */
  get pending(): readonly string[] {
    return this.#pending;
  }

  /** Appends envelopes durably (one write, one fsync). */
  append(envelopes: readonly string[]): void {
    if (envelopes.length === 0) return;
    const fd = openSync(this.#path, 'a', 0o600);
    try {
      writeSync(fd, envelopes.join('\n') + '\n');
      if (this.#sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#pending.push(...envelopes);
  }

  /** Forgets envelopes the stream stored (or that are already in the ledger). */
  settle(envelopes: readonly string[]): void {
    if (envelopes.length === 0) return;
    const done = new Set(envelopes);
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((e) => !done.has(e));
    if (this.#pending.length !== before) this.#rewrite();
  }

  /** Replaces the file with the pending envelopes (write to a temporary file, fsync, rename). */
  #rewrite(): void {
    if (this.#pending.length === 0) {
      rmSync(this.#path, { force: true });
      return;
    }
    const tmp = `${this.#path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, this.#pending.join('\n') + '\n');
      if (this.#sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
  }
}
