import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoblocker, journalLine, stripPriority } from '../../ts/autoblock/index.js';

const root = mkdtempSync(join(tmpdir(), 'omni-ab-src-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `s${n++}`);

const FILTER = `[Definition]
failregex = ^\\s*\\S+ app\\[\\d+\\]: login failed for \\S+ from <HOST>$
`;
// maxretry 1: every failure line is one decision for a distinct address, so the
// ledger shows exactly which lines were processed
const jails = [{ name: 'app', filter: { text: FILTER }, maxretry: 1, bantime: 3600 }];
const line = (i: number) => `Nov 30 11:00:00 srv app[1]: login failed for root from 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n`;
const ipsOf = async (ab: Autoblocker) => new Set((await ab.decisions({ all: true })).map((d) => d.value));

describe('omnitide/autoblock sources', () => {
  it('tails a file through appends, rotation and truncation, and resumes from its saved position', async () => {
    const dir = fresh();
    const log = join(dir, 'app.log');
    const ab = await Autoblocker.open(dir, { insecurePlaintext: true, domain: 'a', jails });
    // only the explicit poll() calls read: a background poll between the rename
    // and the write to the old file below would make the test timing-dependent
    const t = await ab.tail(log, { pollMs: 3_600_000 });
    // file created after the tail started
    writeFileSync(log, line(1) + line(2));
    await t.poll();
    expect(await ipsOf(ab)).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
    // a partial line waits for its newline
    appendFileSync(log, line(3).slice(0, 20));
    await t.poll();
    expect((await ipsOf(ab)).size).toBe(2);
    appendFileSync(log, line(3).slice(20) + line(4));
    // rotation (logrotate create): old file renamed, new one written
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, line(5)); // written to the old file before the writer reopened
    writeFileSync(log, line(6));
    await t.poll();
    expect(await ipsOf(ab)).toEqual(new Set([1, 2, 3, 4, 5, 6].map((i) => `10.0.0.${i}`)));
    // truncation (copytruncate)
    truncateSync(log, 0);
    await t.poll();
    appendFileSync(log, line(7));
    await t.poll();
    expect((await ipsOf(ab)).has('10.0.0.7')).toBe(true);
    await ab.close();
    // lines written while nothing ran, then a rotation: both files' rest is read after restart
    appendFileSync(log, line(8));
    renameSync(log, `${log}.2`);
    writeFileSync(log, line(9));
    const again = await Autoblocker.open(dir, { insecurePlaintext: true, domain: 'a', jails });
    try {
      await (await again.tail(log, { pollMs: 50 })).poll();
      expect(await ipsOf(again)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `10.0.0.${i}`)));
      // nothing processed twice: one decision per address
      expect((await again.decisions({ all: true })).length).toBe(9);
    } finally {
      await again.close();
    }
  });

  it('syslog on loopback UDP and TCP (newline and octet-counted framing)', async () => {
    const ab = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'a', jails });
    try {
      const s = await ab.syslog({ udp: 0, tcp: 0 });
      const got = new Promise<void>((r) => ab.on('decision', () => ab.lookup('10.0.0.13') && ab.lookup('10.0.0.12') && ab.lookup('10.0.0.11') && r()));
      const u = createSocket('udp4');
      u.send(`<38>${line(11)}`, s.udpPort!, '127.0.0.1', () => u.close());
      const c = connect(s.tcpPort!, '127.0.0.1', () => {
        const msg = `<38>${line(13).trim()}`;
        c.end(`<38>${line(12)}${Buffer.byteLength(msg)} ${msg}`);
      });
      await got;
      expect(stripPriority('<13>1 x')).toBe('x');
    } finally {
      await ab.close();
    }
  });

  it('journal records become syslog lines', () => {
    expect(journalLine({ MESSAGE: 'Failed password for root from 10.0.0.1 port 22 ssh2', __REALTIME_TIMESTAMP: String(Date.UTC(2026, 10, 30, 10, 0, 1) * 1000), _HOSTNAME: 'srv', SYSLOG_IDENTIFIER: 'sshd', _PID: '7' })).toBe(
      'Nov 30 10:00:01 srv sshd[7]: Failed password for root from 10.0.0.1 port 22 ssh2',
    );
    expect(journalLine({ MESSAGE: [1, 2] })).toBeNull();
  });

  const dist = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
  it.skipIf(!existsSync(dist))('kill -9 of the runner during rotation loses no line', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'app.log');
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ domain: 'a', insecurePlaintext: true, jails, sources: [{ type: 'file', path: log }] }));
    writeFileSync(log, '');
    const total = 3000;
    let written = 0;
    const write = (k: number) => {
      let s = '';
      for (let i = 0; i < k && written < total; i++) s += line(++written);
      appendFileSync(log, s);
    };
    const start = () => {
      const c = fork(dist, ['autoblock', 'run', '--dir', dir, '--config', cfg, '--json'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      return new Promise<typeof c>((r) => c.once('message', () => r(c)));
    };
    for (let round = 0; round < 3; round++) {
      const c = await start();
      write(500);
      // long enough for the runner to be in the middle of reading and deciding
      await new Promise((r) => setTimeout(r, 400));
      if (round === 1) {
        renameSync(log, `${log}.${round}`);
        writeFileSync(log, '');
      }
      write(500);
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
    write(total);
    // the last runner reads the rest; drained when its saved position is the end of the live file
    const c = await start();
    const posFile = join(dir, 'tail-app.log.pos');
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const p = JSON.parse(readFileSync(posFile, 'utf8'));
        const st = statSync(log);
        if (p.ino === st.ino && p.pos === st.size) break;
      } catch {
        // being rewritten
      }
    }
    c.kill('SIGTERM');
    await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
    const ab = () => Autoblocker.open(dir, { insecurePlaintext: true, domain: 'a', jails });
    const final = await ab();
    try {
      const ips = await ipsOf(final);
      expect(ips.size).toBe(total);
      // at-least-once: a re-read line after a crash is recognised (same ban in force), never logged twice
      expect((await final.decisions({ all: true })).length).toBe(total);
    } finally {
      await final.close();
    }
  });
});
