/**
 * Runs Debian's `crowdsec` 1.4 in replay ("time-machine") mode over a log file,
 * fully offline: a private copy of its config with the Central API removed, the
 * local API on a loopback port of our choosing (the agent insists on pushing its
 * alerts to a local API, even in replay), its own sqlite copy and `-dump-data`,
 * whose bucket-dump.yaml lists every overflow. Nothing is left running: the
 * process exits on its own when the file is consumed and is killed otherwise.
 * Shared by test/autoblock/crowdsec.test.ts and bench/autoblock.ts.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export const CROWDSEC = '/usr/bin/crowdsec';
export const CS_CONFIG = '/etc/crowdsec/config.yaml';
export const CS_DATA = '/var/lib/crowdsec/data';
export const SSH_BF = '/etc/crowdsec/scenarios/ssh-bf.yaml';

/** Why crowdsec cannot run here, or null. */
export function crowdsecMissing(): string | null {
  for (const f of [CROWDSEC, CS_CONFIG, SSH_BF, join(CS_DATA, 'crowdsec.db'), '/etc/crowdsec/local_api_credentials.yaml']) {
    if (!existsSync(f)) return `${f} is missing (apt-get install crowdsec, see .ci/run)`;
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface CrowdsecAlert {
  scenario: string;
  ip: string;
}

/** Replays `log` (syslog lines) through crowdsec; returns its overflows and the wall time of the replay. */
export async function crowdsecReplay(log: string, timeoutMs = 120_000): Promise<{ alerts: CrowdsecAlert[]; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), `omni-cs-${process.pid}-`));
  try {
    const port = await freePort();
    const data = join(dir, 'data');
    const dump = join(dir, 'dump');
    mkdirSync(data);
    mkdirSync(dump);
    for (const f of readdirSync(CS_DATA)) {
      const p = join(CS_DATA, f);
      if (statSync(p).isFile() && !f.endsWith('-wal') && !f.endsWith('-shm')) copyFileSync(p, join(data, f));
    }
    const cfg = parse(readFileSync(CS_CONFIG, 'utf8'));
    cfg.common = { ...cfg.common, daemonize: false, log_media: 'stdout', log_level: 'warning' };
    cfg.config_paths.data_dir = `${data}/`;
    cfg.db_config.db_path = join(data, 'crowdsec.db');
    cfg.prometheus = { enabled: false };
    delete cfg.api.server.online_client; // no Central API: nothing leaves the machine
    cfg.api.server.listen_uri = `127.0.0.1:${port}`;
    const creds = parse(readFileSync('/etc/crowdsec/local_api_credentials.yaml', 'utf8'));
    creds.url = `http://127.0.0.1:${port}`;
    const credsPath = join(dir, 'lapi.yaml');
    writeFileSync(credsPath, JSON.stringify(creds));
    cfg.api.client.credentials_path = credsPath;
    const cfgPath = join(dir, 'config.yaml');
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const logPath = join(dir, 'auth.log');
    writeFileSync(logPath, log);
    const t0 = performance.now();
    const child = spawn(CROWDSEC, ['-c', cfgPath, '-dsn', `file://${logPath}`, '-type', 'syslog', '-no-capi', '-dump-data', dump], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const ms = performance.now() - t0;
    const bucketDump = join(dump, 'bucket-dump.yaml');
    if (code !== 0 || !existsSync(bucketDump)) throw new Error(`crowdsec replay failed (exit ${code}):\n${out.slice(-4000)}`);
    const alerts: CrowdsecAlert[] = [];
    for (const doc of parseAllDocuments(readFileSync(bucketDump, 'utf8'))) {
      for (const item of (doc.toJSON() ?? []) as { Overflow?: { Alert?: { scenario?: string; source?: { ip?: string } } } }[]) {
        const a = item.Overflow?.Alert;
        if (a?.scenario && a.source?.ip) alerts.push({ scenario: a.scenario, ip: a.source.ip });
      }
    }
    return { alerts, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A seeded sshd auth.log: bursts (brute force), slow attackers (one try every
 * 15 s, which a 10 s leak always drains), borderline sources (exactly capacity
 * tries, or capacity+1 spread 1-3 s apart around the 10 s leak) and noise. Public
 * TEST-NET addresses only: crowdsec's whitelists parser drops private ranges.
 */
export function sshAuthLog(seed: number, sources = 60): { text: string; lines: number } {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const ev: [number, string][] = [];
  const base = Date.UTC(2026, 10, 30, 10, 0, 0) / 1000; // Nov 30 10:00:00 UTC
  const nets = ['203.0.113', '198.51.100', '192.0.2'];
  for (let i = 0; i < sources; i++) {
    const ip = `${nets[i % 3]}.${10 + (Math.floor(i / 3) % 240)}`; // large logs (bench) reuse addresses
    const start = base + Math.floor(rnd() * 3000);
    const kind = i % 4;
    // burst: 6..20 tries 0..1 s apart; slow: 10 tries 15 s apart; few: 1..5 tries; spread: 6 tries 1, 2 or 3 s apart (around the leak rate)
    const n = kind === 0 ? 6 + Math.floor(rnd() * 15) : kind === 1 ? 10 : kind === 2 ? 1 + Math.floor(rnd() * 5) : 6;
    const gap = kind === 0 ? () => Math.floor(rnd() * 2) : kind === 1 ? () => 15 : kind === 2 ? () => 1 + Math.floor(rnd() * 20) : () => 1 + (Math.floor(i / 4) % 3);
    let t = start;
    for (let k = 0; k < n; k++) {
      const user = rnd() < 0.5 ? 'root' : `invalid user u${Math.floor(rnd() * 50)}`;
      ev.push([t, `sshd[${1000 + i}]: Failed password for ${user} from ${ip} port ${20000 + Math.floor(rnd() * 40000)} ssh2`]);
      if (rnd() < 0.3) ev.push([t, `sshd[${1000 + i}]: Accepted publickey for deploy from 198.18.0.${i % 250} port 22 ssh2: ED25519 SHA256:x`]);
      t += gap();
    }
  }
  ev.sort((a, b) => a[0] - b[0]);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const text = ev
    .map(([t, msg]) => {
      const d = new Date(t * 1000);
      return `${mon[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} host ${msg}`;
    })
    .join('\n');
  return { text: `${text}\n`, lines: ev.length };
}

/** A fail2ban-syntax filter for the lines crowdsec's sshd-logs parser tags ssh_failed-auth in sshAuthLog (the user is its target_user). */
export const SSH_FAILED_FILTER = `[Definition]
failregex = ^\\s*\\S+ sshd\\[\\d+\\]: Failed password for (?:invalid user )?<F-USER>\\S+</F-USER> from <HOST> port \\d+ ssh2$
`;
