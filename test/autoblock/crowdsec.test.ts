/**
 * Differential test against CrowdSec (Debian `crowdsec` 1.4, offline hub): the
 * same seeded sshd auth.log replayed through crowdsec's own parsers and its
 * `crowdsecurity/ssh-bf` leaky-bucket scenario, and through our detector loading
 * that very scenario file (/etc/crowdsec/scenarios/ssh-bf.yaml, unchanged),
 * must ban the same set of source addresses — for `crowdsecurity/ssh-bf` and for
 * `crowdsecurity/ssh-bf_user-enum`, whose leaky buckets pour each target user of
 * a source once (`distinct: evt.Meta.target_user`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Detector } from '../../ts/autoblock/index.js';
import { crowdsecMissing, crowdsecReplay, SSH_BF, SSH_FAILED_FILTER, sshAuthLog } from './crowdsec.js';

const missing = crowdsecMissing();
if (missing) {
  const msg = `!!! SKIPPING the CrowdSec differential test: ${missing} !!!`;
  if (process.env.CI === 'true') throw new Error(`${msg} — .ci/run installs it`);
  console.warn(`\n${msg}\n`);
}

/** Our side: a fail2ban-syntax filter extracts (time, host); the events go through ssh-bf.yaml's buckets. */
function ourBans(log: string, scenario: string): Set<string> {
  const d = new Detector({ jails: [{ name: 'ssh', filter: { text: SSH_FAILED_FILTER } }], scenarios: [{ file: SSH_BF, text: readFileSync(SSH_BF, 'utf8') }] });
  const now = Date.UTC(2026, 11, 1);
  const events = d
    .matchLines(log, 'ssh', { now })
    .filter((m) => m.kind === 'failure')
    .map((m) => ({ time: (m.time ?? 0) * 1000, log_type: 'ssh_failed-auth', source_ip: m.id ?? '', target_user: m.fields.find(([k]) => k === 'user')?.[1] ?? '' }));
  return new Set(d.events(events).filter((x) => x.name === scenario).map((x) => x.value));
}

// Skipped only outside CI when crowdsec is missing (the real replay is the oracle); under CI=true a
// missing crowdsec throws above, and .ci/run installs it.
describe.skipIf(missing !== null)('autoblock vs CrowdSec (ssh-bf, ssh-bf_user-enum)', () => {
  for (const seed of [7, 1234]) {
    it(`seed ${seed}: the same sources overflow crowdsecurity/ssh-bf and ssh-bf_user-enum`, async () => {
      const { text } = sshAuthLog(seed);
      const { alerts } = await crowdsecReplay(text);
      const theirs = new Set(alerts.filter((a) => a.scenario === 'crowdsecurity/ssh-bf').map((a) => a.ip));
      expect(theirs.size).toBeGreaterThan(5); // the oracle really ran its parsers and buckets
      const ours = ourBans(text, 'crowdsecurity/ssh-bf');
      expect([...ours].sort()).toEqual([...theirs].sort());
      // user enumeration: the same sources, and not simply ssh-bf's (the distinct users matter)
      const theirEnum = new Set(alerts.filter((a) => a.scenario === 'crowdsecurity/ssh-bf_user-enum').map((a) => a.ip));
      expect(theirEnum.size).toBeGreaterThan(2);
      expect(theirEnum.size).toBeLessThan(theirs.size);
      const ourEnum = ourBans(text, 'crowdsecurity/ssh-bf_user-enum');
      expect([...ourEnum].sort()).toEqual([...theirEnum].sort());
    }, 180_000);
  }
});
