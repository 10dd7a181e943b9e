/**
 * Event sources feeding an autoblocker: a tailed log file (rotation and
 * truncation handled, position persisted so a restart — even after kill -9 —
 * loses no line), syslog on a loopback UDP/TCP port, and `journalctl -o json -f`.
 *
 * Delivery is at-least-once: the position is saved only after the lines were
 * handed over and processed, so a crash re-reads, never skips.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { Logger } from '../logger.js';

/** Something that consumes lines (an autoblocker's `ingestLines`). */
export type LineSink = (lines: string) => Promise<unknown>;

export interface Source {
  readonly kind: string;
  close(): Promise<void>;
}

interface Position {
  dev: number;
  ino: number;
  pos: number;
}

const CHUNK = 1 << 20;
const MAX_PARTIAL = 1 << 20;

/**
 * Tails `path`. `positionFile` (default `<path>.omnitide-pos` beside a state
 * directory you choose) holds device, inode and offset. On rotation the old
 * file is drained before the new one is read; on truncation reading restarts
 * at 0; after a restart a rotated-away file is found by its inode in the same
 * directory and its rest is read first.
 */
export class FileTail implements Source {
  readonly kind = 'file';
  #fd: number | null = null;
  #cur: Position | null = null;
  #partial = '';
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    readonly path: string,
    readonly positionFile: string,
    private readonly sink: LineSink,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  static async start(path: string, sink: LineSink, opts: { positionFile: string; pollMs?: number; fromStart?: boolean; log: Logger }): Promise<FileTail> {
    if (typeof path !== 'string' || path === '') throw invalidArgument('path', 'expected a file path');
    if (typeof opts.positionFile !== 'string' || opts.positionFile === '') throw invalidArgument('opts.positionFile', 'expected a file path');
    const t = new FileTail(path, opts.positionFile, sink, opts.pollMs ?? 250, opts.log);
    await t.#resume(opts.fromStart ?? true);
    t.#schedule();
    return t;
  }

  #load(): Position | null {
    try {
      const p = JSON.parse(readFileSync(this.positionFile, 'utf8'));
      if (Number.isSafeInteger(p.ino) && Number.isSafeInteger(p.pos) && Number.isSafeInteger(p.dev)) return p;
    } catch {
      // none yet, or torn: start over as configured
    }
    return null;
  }

  #save(p: Position): void {
    const tmp = `${this.positionFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(p));
    renameSync(tmp, this.positionFile);
  }

  /** A file in the same directory with the given inode (a rotated log). */
  #findByInode(dev: number, ino: number): string | null {
    const dir = dirname(this.path);
    const base = basename(this.path);
    try {
      for (const name of readdirSync(dir)) {
        if (!name.startsWith(base)) continue;
        try {
          const s = statSync(join(dir, name));
          if (s.ino === ino && s.dev === dev) return join(dir, name);
        } catch {
          // vanished while listing
        }
      }
    } catch {
      // directory unreadable
    }
    return null;
  }

  async #resume(fromStart: boolean): Promise<void> {
    const saved = this.#load();
    if (saved) {
      let live: { dev: number; ino: number; size: number } | null = null;
      try {
        const s = statSync(this.path);
        live = { dev: s.dev, ino: s.ino, size: s.size };
      } catch {
        live = null;
      }
      if (live && live.ino === saved.ino && live.dev === saved.dev) {
        this.#openAt(saved.pos > live.size ? 0 : saved.pos);
        return;
      }
      // rotated while we were down: finish the old file first
      const old = this.#findByInode(saved.dev, saved.ino);
      if (old) {
        const fd = openSync(old, 'r');
        await this.#drain(fd, saved.pos, { dev: saved.dev, ino: saved.ino });
        closeSync(fd);
        await this.#flushPartial();
      }
      if (live) this.#openAt(0);
      return;
    }
    if (existsSync(this.path)) this.#openAt(fromStart ? 0 : statSync(this.path).size);
  }

  #openAt(pos: number): void {
    const fd = openSync(this.path, 'r');
    const s = fstatSync(fd);
    this.#fd = fd;
    this.#cur = { dev: s.dev, ino: s.ino, pos };
    // record which file we are on at once: if it is rotated away before we
    // read anything, a restart still finds it by its inode
    this.#save(this.#cur);
  }

  /** Reads fd from pos to EOF, handing complete lines to the sink; returns the new position. */
  async #drain(fd: number, pos: number, id: { dev: number; ino: number }): Promise<number> {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, pos);
      if (n <= 0) return pos;
      const text = this.#partial + buf.subarray(0, n).toString('latin1');
      const cut = text.lastIndexOf('\n');
      if (cut < 0) {
        this.#partial = text.length > MAX_PARTIAL ? '' : text;
        if (text.length > MAX_PARTIAL) this.log.warn({ path: this.path }, 'autoblock tail: a line longer than 1 MiB was dropped');
        pos += n;
        continue;
      }
      this.#partial = text.slice(cut + 1);
      await this.sink(Buffer.from(text.slice(0, cut + 1), 'latin1').toString('utf8'));
      pos += n;
      // position of the last complete line handed over (the partial is re-read after a crash)
      this.#save({ ...id, pos: pos - Buffer.byteLength(this.#partial, 'latin1') });
    }
  }

  async #flushPartial(): Promise<void> {
    if (this.#partial) {
      const p = this.#partial;
      this.#partial = '';
      await this.sink(Buffer.from(p, 'latin1').toString('utf8'));
    }
  }

  async #poll(): Promise<void> {
    if (this.#closed) return;
    let live: { dev: number; ino: number; size: number } | null = null;
    try {
      const s = statSync(this.path);
      live = { dev: s.dev, ino: s.ino, size: s.size };
    } catch {
      live = null;
    }
    if (this.#fd === null) {
      if (live) this.#openAt(0);
      else return;
    }
    const cur = this.#cur!;
    // truncation (copytruncate): start over
    const size = fstatSync(this.#fd!).size;
    if (size < cur.pos) {
      this.log.info({ path: this.path }, 'autoblock tail: file truncated, reading from the start');
      cur.pos = 0;
      this.#partial = '';
    }
    cur.pos = await this.#drain(this.#fd!, cur.pos, cur);
    if (live && (live.ino !== cur.ino || live.dev !== cur.dev)) {
      // rotated: the old file is drained above; switch to the new one
      await this.#flushPartial();
      closeSync(this.#fd!);
      this.#fd = null;
      this.#openAt(0);
      this.#save(this.#cur!);
      this.log.info({ path: this.path }, 'autoblock tail: followed a rotation');
      await this.#poll();
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#busy = this.#poll()
        .catch((err) => this.log.error({ err, path: this.path }, 'autoblock tail: read failed'))
        .finally(() => this.#schedule());
    }, this.pollMs);
  }

  /** Reads whatever is there now (tests, shutdown). */
  async poll(): Promise<void> {
    await this.#busy;
    this.#busy = this.#poll();
    await this.#busy;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#busy;
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** `<PRI>` removed from an RFC 3164/5424 message, leaving the line fail2ban filters expect. */
export function stripPriority(msg: string): string {
  return msg.replace(/^<\d{1,3}>(?:1 )?/, '').replace(/\r?\n$/, '');
}

export interface SyslogOptions {
  /** UDP port (0 = pick one) */
  udp?: number;
  /** TCP port (0 = pick one); newline-delimited or octet-counted framing */
  tcp?: number;
  /** default 127.0.0.1: syslog has no authentication, listen on loopback unless you mean it */
  host?: string;
}

export class SyslogSource implements Source {
  readonly kind = 'syslog';
  #udp: Socket | null = null;
  #tcp: Server | null = null;
  udpPort: number | null = null;
  tcpPort: number | null = null;

  static async start(sink: LineSink, opts: SyslogOptions, log: Logger): Promise<SyslogSource> {
    if (opts.udp === undefined && opts.tcp === undefined) throw invalidArgument('opts', 'give a udp and/or tcp port');
    const s = new SyslogSource();
    const host = opts.host ?? '127.0.0.1';
    const deliver = (line: string) => sink(stripPriority(line)).catch((err) => log.error({ err }, 'autoblock syslog: processing failed'));
    if (opts.udp !== undefined) {
      const u = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      u.on('message', (m) => void deliver(m.toString('utf8')));
      u.on('error', (err) => log.error({ err }, 'autoblock syslog: UDP error'));
      await new Promise<void>((res, rej) => {
        u.once('error', rej);
        u.bind(opts.udp, host, () => res());
      });
      s.#udp = u;
      s.udpPort = u.address().port;
    }
    if (opts.tcp !== undefined) {
      const srv = createServer((sock) => {
        let buf = '';
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => {
          buf += d;
          for (;;) {
            const m = /^(\d{1,6}) /.exec(buf);
            if (m) {
              const len = Number(m[1]);
              const start = m[0].length;
              if (Buffer.byteLength(buf.slice(start)) < len) break;
              const msg = Buffer.from(buf.slice(start)).subarray(0, len).toString('utf8');
              buf = buf.slice(start + msg.length);
              void deliver(msg);
              continue;
            }
            const nl = buf.indexOf('\n');
            if (nl < 0) {
              if (buf.length > MAX_PARTIAL) buf = '';
              break;
            }
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line) void deliver(line);
          }
        });
        sock.on('error', () => sock.destroy());
      });
      await new Promise<void>((res, rej) => {
        srv.once('error', rej);
        srv.listen(opts.tcp, host, () => res());
      });
      s.#tcp = srv;
      const a = srv.address();
      s.tcpPort = typeof a === 'object' && a ? a.port : null;
    }
    return s;
  }

  async close(): Promise<void> {
    if (this.#udp) await new Promise<void>((r) => this.#udp!.close(() => r()));
    if (this.#tcp) await new Promise<void>((r) => this.#tcp!.close(() => r()));
    this.#udp = null;
    this.#tcp = null;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A journal JSON record as the syslog line fail2ban filters expect. */
export function journalLine(rec: Record<string, unknown>): string | null {
  const msg = rec.MESSAGE;
  if (typeof msg !== 'string') return null;
  const us = Number(rec.__REALTIME_TIMESTAMP);
  const d = Number.isFinite(us) ? new Date(us / 1000) : new Date();
  const ts = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
  const ident = String(rec.SYSLOG_IDENTIFIER ?? rec._COMM ?? 'unknown');
  const pid = rec._PID ?? rec.SYSLOG_PID;
  return `${ts} ${String(rec._HOSTNAME ?? 'localhost')} ${ident}${pid ? `[${String(pid)}]` : ''}: ${msg}`;
}

export interface JournalOptions {
  /** journalctl matches (`FIELD=value`, `+` for OR), e.g. `_SYSTEMD_UNIT=ssh.service` */
  matches?: string[];
  /** read these journal files instead of the system journal (`--file`), e.g. those `systemd-journal-remote` writes */
  files?: string[];
  cursorFile?: string;
  /** the journalctl binary (default `journalctl` on PATH) */
  journalctl?: string;
}

/** Checks journald source options: matches and files become journalctl arguments, so none may look like an option. */
export function checkJournalOptions(opts: { matches?: unknown; files?: unknown }): void {
  const list = (name: string, v: unknown, ok: (x: string) => boolean, want: string) => {
    if (v === undefined) return;
    if (!Array.isArray(v)) throw invalidArgument(name, 'expected an array of strings');
    v.forEach((x, i) => {
      if (typeof x !== 'string' || !ok(x)) throw invalidArgument(`${name}[${i}]`, `expected ${want}, got ${JSON.stringify(x)}`);
    });
  };
  list('opts.matches', opts.matches, (x) => x === '+' || /^[A-Z0-9_]+=/.test(x), "'FIELD=value' or '+'");
  list('opts.files', opts.files, (x) => x.length > 0 && !x.startsWith('-') && !x.includes('\0'), 'a journal file path');
}

/** `journalctl -o json -f` (optionally with `--after-cursor` from `cursorFile`). */
export class JournalSource implements Source {
  readonly kind = 'journald';
  #child: ChildProcess | null = null;

  static start(sink: LineSink, opts: JournalOptions, log: Logger): JournalSource {
    checkJournalOptions(opts);
    const s = new JournalSource();
    const args = ['-o', 'json', '-f', '--no-pager'];
    for (const f of opts.files ?? []) args.push(`--file=${f}`);
    const cursor = opts.cursorFile && existsSync(opts.cursorFile) ? readFileSync(opts.cursorFile, 'utf8').trim() : '';
    if (cursor) args.push(`--after-cursor=${cursor}`);
    else args.push('-n', '0');
    args.push(...(opts.matches ?? []));
    const child = spawn(opts.journalctl ?? 'journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (err) => log.error({ err }, 'autoblock journald: journalctl could not start'));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => log.warn({ stderr: d.trim() }, 'autoblock journald: journalctl'));
    child.on('exit', (code, signal) => {
      if (s.#child === child) log.error({ code, signal }, 'autoblock journald: journalctl exited');
    });
    let buf = '';
    let chain: Promise<unknown> = Promise.resolve();
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const cut = buf.lastIndexOf('\n');
      if (cut < 0) return;
      const lines = buf.slice(0, cut).split('\n');
      buf = buf.slice(cut + 1);
      const out: string[] = [];
      let last: string | undefined;
      for (const l of lines) {
        try {
          const rec = JSON.parse(l);
          const line = journalLine(rec);
          if (line) out.push(line);
          if (typeof rec.__CURSOR === 'string') last = rec.__CURSOR;
        } catch {
          log.warn('autoblock journald: unparsable record skipped');
        }
      }
      chain = chain.then(async () => {
        if (out.length) await sink(out.join('\n'));
        if (last && opts.cursorFile) writeFileSync(opts.cursorFile, last);
      });
    });
    s.#child = child;
    return s;
  }

  async close(): Promise<void> {
    const c = this.#child;
    this.#child = null;
    if (c && c.exitCode === null) {
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGTERM');
      });
    }
  }
}
