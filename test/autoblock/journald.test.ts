/**
 * The journald source through the real `journalctl -o json -f`: this machine
 * runs no journald, so the journal is a file written by Debian's
 * `systemd-journal-remote` (the journal format journald itself writes, from the
 * export format on stdin), read with `journalctl --file`. fail2ban's own sshd
 * filter decides. Lines appended while the source follows are decided; lines
 * appended while it is stopped are read after the saved cursor on restart.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoblocker } from '../../ts/autoblock/index.js';
import { thrown } from '../helpers/thrown.js';

const REMOTE = ['/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote'].find((p) => existsSync(p));
const JOURNALCTL = spawnSync('journalctl', ['--version']).status === 0;
const SSHD = '/etc/fail2ban/filter.d/sshd.conf';
const missing = !REMOTE ? 'systemd-journal-remote' : !JOURNALCTL ? 'journalctl' : !existsSync(SSHD) ? 'fail2ban (filter.d/sshd.conf)' : null;
if (missing) {
  const msg = `!!! SKIPPING autoblock journald test: ${missing} is not installed !!!`;
  if (process.env.CI === 'true') throw new Error(`${msg} — .ci/run installs it`);
  console.warn(`\n${msg}\n`);
}

const root = mkdtempSync(join(tmpdir(), 'omni-ab-journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// journalctl --follow shows the current boot's entries, as journald writes them
const BOOT_ID = existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '') : '';

/** Appends one sshd entry to the journal file with systemd-journal-remote (journal export format on stdin). */
function append(file: string, message: string): void {
  const us = BigInt(Date.now()) * 1000n;
  const entry = `__REALTIME_TIMESTAMP=${us}\n__MONOTONIC_TIMESTAMP=${us}\n_BOOT_ID=${BOOT_ID}\n_HOSTNAME=srv\nSYSLOG_IDENTIFIER=sshd\n_PID=812\nMESSAGE=${message}\n\n`;
  const r = spawnSync(REMOTE!, [`--output=${file}`, '-'], { input: entry, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`systemd-journal-remote: ${r.stderr}`);
}
const failure = (i: number) => `Failed password for invalid user admin from 10.77.${i >> 8}.${i & 255} port ${40000 + i} ssh2`;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000, each?: () => void): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    each?.();
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Skips only outside CI when systemd-journal-remote, journalctl or fail2ban's sshd filter is missing (the test needs
// real journal files and the real journalctl); under CI=true that is an error above, since .ci/run installs them.
describe.skipIf(missing !== null)('omnitide/autoblock journald source', () => {
  it('follows a journal with journalctl -o json -f and resumes after its saved cursor', async () => {
    const dir = join(root, 'state');
    const file = join(root, 'remote.journal');
    append(file, 'Server listening on 0.0.0.0 port 22.');
    const ab = await Autoblocker.open(dir, { insecurePlaintext: true, domain: 'j', jails: [{ name: 'sshd', filter: SSHD, maxretry: 1, bantime: 3600 }] });
    try {
      const banned = async () => new Set((await ab.decisions({ all: true })).map((d) => d.value));
      let src = ab.journald({ jail: 'sshd', files: [file] });
      // journalctl starts at the journal's end (-n 0): append until it follows
      let k = 0;
      await until('journalctl to follow the file', async () => (await banned()).size > 0, 30_000, () => append(file, failure(k++)));
      const before = k;
      for (let i = 0; i < 3; i++) append(file, failure(k++));
      await until('the followed entries to be decided', async () => (await banned()).has(`10.77.0.${k - 1}`));
      const first = Math.min(...[...(await banned())].map((v) => Number(v.split('.')[3])));
      expect(first).toBeLessThan(before);
      // every entry from the first one seen on is decided, each once
      expect([...(await banned())].sort()).toEqual(Array.from({ length: k - first }, (_, i) => `10.77.0.${first + i}`).sort());
      expect(existsSync(join(dir, 'journal.cursor'))).toBe(true);

      // stopped: entries written meanwhile are read after the saved cursor
      await src.close();
      const stopped = k;
      for (let i = 0; i < 3; i++) append(file, failure(k++));
      src = ab.journald({ jail: 'sshd', files: [file] });
      await until('the entries written while stopped', async () => (await banned()).has(`10.77.0.${k - 1}`));
      const all = await ab.decisions({ all: true });
      expect(all.map((d) => d.value).slice(-3)).toEqual([stopped, stopped + 1, stopped + 2].map((i) => `10.77.0.${i}`));
      expect(new Set(all.map((d) => d.value)).size).toBe(all.length);
      expect(all[0].reason).toMatch(/sshd/);
      await src.close();

      expect(thrown(() => ab.journald({ files: ['--output=/tmp/x'] })).message).toMatch(/opts\.files\[0\]/);
      expect(thrown(() => ab.journald({ matches: ['--since=today'] })).message).toMatch(/opts\.matches\[0\]/);
    } finally {
      await ab.close();
    }
  });
});
