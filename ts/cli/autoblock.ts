import { readFileSync } from 'node:fs';
import { Autoblocker, Detector, jetstreamTransport, nftablesEnforcer, xdpEnforcer, type AutoblockOptions, type Decision, type Enforcer } from '../autoblock/index.js';
import { invalidArgument } from '../errors.js';
import { xdp } from '../kernel/index.js';
import { type Command, type CommandGroup, out, parse, printJson, UsageError } from './command.js';

const state = {
  dir: { type: 'string', short: 'd' },
  domain: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'passphrase-env': { type: 'string' },
  'insecure-plaintext': { type: 'boolean' },
} as const;
const stateUsage = `  -d, --dir DIR         state directory (keys, decision ledger, positions)
      --domain NAME     this domain (or from --config)
  -c, --config FILE     JSON configuration (domain, jails, scenarios, allowlist, sources, enforce, nats)
      --passphrase-env VAR  read the domain key store passphrase from environment variable VAR
      --insecure-plaintext  keep the domain key unencrypted (explicit opt-out; tests only)
      --json            machine-readable output`;

interface RunConfig extends Omit<AutoblockOptions, 'enforcers' | 'transport' | 'logger' | 'trust'> {
  sources?: ({ type: 'file'; path: string; jail?: string } | { type: 'syslog'; udp?: number; tcp?: number; host?: string; jail?: string } | { type: 'journald'; jail?: string; matches?: string[]; files?: string[] })[];
  enforce?: { xdp?: string; nftables?: boolean | { table?: string } };
  nats?: { servers: string[]; durable: string; stream?: string };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function loadConfig(values: Record<string, any>): RunConfig {
  let cfg: RunConfig = { domain: values.domain };
  if (values.config) {
    try {
      cfg = JSON.parse(readFileSync(values.config, 'utf8'));
    } catch (err) {
      throw invalidArgument('--config', `cannot read ${values.config}: ${(err as Error).message}`, err);
    }
    if (values.domain) cfg.domain = values.domain;
  }
  if (!values.dir) throw new UsageError('--dir is required');
  if (!cfg.domain) throw new UsageError('--domain (or "domain" in --config) is required');
  const envVar = values['passphrase-env'];
  if (envVar) {
    const passphrase = process.env[envVar];
    if (!passphrase) throw new UsageError(`--passphrase-env: environment variable ${envVar} is empty or unset`);
    cfg.passphrase = passphrase;
  }
  if (values['insecure-plaintext']) cfg.insecurePlaintext = true;
  if (!cfg.passphrase && !cfg.insecurePlaintext) {
    throw new UsageError('the domain key is encrypted at rest: give --passphrase-env VAR (or "passphrase" in --config), or --insecure-plaintext');
  }
  return cfg;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function openFrom(values: Record<string, any>): Promise<Autoblocker> {
  const { sources: _s, enforce: _e, nats: _n, ...cfg } = loadConfig(values);
  return Autoblocker.open(values.dir, cfg);
}

function show(d: Decision, json: boolean): void {
  if (json) return printJson({ id: d.id, action: d.action, scope: d.scope, value: d.value, issuedAt: d.issuedAt, expiresAt: d.expiresAt, reason: d.reason, domain: d.domain, origin: d.origin, evidence: d.evidence, logIndex: d.logIndex });
  const until = d.expiresAt === null ? 'permanent' : `until ${new Date(d.expiresAt).toISOString()}`;
  out(`${d.action} ${d.value} ${until} [${d.origin}] ${d.reason} (id ${d.id.slice(0, 16)}, log #${d.logIndex ?? '-'})`);
}

const run: Command = {
  summary: 'run the autoblocker: sources -> detection -> signed decisions -> enforcement, until SIGINT/SIGTERM',
  usage: `omnitide autoblock run --dir DIR --config FILE [--json]\n${stateUsage}`,
  async run(argv) {
    const { values } = parse(argv, state);
    const cfg = loadConfig(values);
    const enforcers: Enforcer[] = [];
    const xdpFilter = cfg.enforce?.xdp ? xdp.attach({ iface: cfg.enforce.xdp }) : null;
    if (xdpFilter) enforcers.push(xdpEnforcer(xdpFilter));
    if (cfg.enforce?.nftables) enforcers.push(nftablesEnforcer(typeof cfg.enforce.nftables === 'object' ? cfg.enforce.nftables : {}));
    const transport = cfg.nats ? jetstreamTransport(cfg.nats) : undefined;
    const { sources, enforce: _e, nats: _n, ...opts } = cfg;
    let ab: Autoblocker;
    try {
      ab = await Autoblocker.open(values.dir, { ...opts, enforcers, transport });
    } catch (err) {
      xdpFilter?.detach();
      throw err;
    }
    ab.on('decision', (d: Decision) => show(d, !!values.json));
    ab.on('rejected', (r) => (values.json ? printJson({ rejected: r }) : out(`rejected ${r.reason}: ${r.detail}`)));
    for (const s of sources ?? []) {
      if (s.type === 'file') await ab.tail(s.path, { jail: s.jail });
      else if (s.type === 'syslog') {
        const src = await ab.syslog(s);
        if (!values.json && process.stderr.isTTY) process.stderr.write(`syslog on udp ${src.udpPort ?? '-'} tcp ${src.tcpPort ?? '-'}\n`);
      } else if (s.type === 'journald') ab.journald(s);
    }
    if (process.stderr.isTTY && !values.json) process.stderr.write(`autoblock ${cfg.domain}: running (${(sources ?? []).length} sources, ${enforcers.length} enforcers); Ctrl-C stops\n`);
    if (process.send) process.send('ready');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await ab.close();
    xdpFilter?.detach();
    return 0;
  },
};

const test: Command = {
  summary: 'run a fail2ban filter over a log file (like fail2ban-regex): matched lines and bans',
  usage: `omnitide autoblock test FILTER LOGFILE [--maxretry N --findtime T --bantime T] [--json]
  FILTER   a fail2ban filter file (filter.d/*.conf), read unchanged
  --allow-partial   skip patterns the linear-time engine cannot run (they are listed)`,
  async run(argv) {
    const { values, positionals } = parse(argv, { maxretry: { type: 'string' }, findtime: { type: 'string' }, bantime: { type: 'string' }, 'allow-partial': { type: 'boolean' } });
    const [filter, log] = positionals;
    if (!filter || !log) throw new UsageError('FILTER and LOGFILE are required');
    const jail = {
      name: 'test',
      filter,
      allowPartial: !!values['allow-partial'],
      ...(values.maxretry ? { maxretry: Number(values.maxretry) } : {}),
      ...(values.findtime ? { findtime: values.findtime } : {}),
      ...(values.bantime ? { bantime: values.bantime } : {}),
    };
    const d = new Detector({ jails: [jail] });
    let text: Buffer;
    try {
      text = readFileSync(log);
    } catch (err) {
      throw invalidArgument('LOGFILE', (err as Error).message, err);
    }
    const matches = d.matchLines(text, 'test');
    const bans = d.lines(text);
    const count = (k: string) => matches.filter((m) => m.kind === k).length;
    const summary = { lines: matches.length, matched: count('failure'), nofail: count('nofail'), ignored: count('ignored'), missed: count('missed'), problems: d.problems, bans };
    if (values.json) printJson({ ...summary, failures: matches.filter((m) => m.kind === 'failure') });
    else {
      out(`Lines: ${summary.lines} lines, ${summary.ignored} ignored, ${summary.matched} matched, ${summary.missed} missed (${summary.nofail} not failures)`);
      for (const p of summary.problems) out(`skipped pattern: ${p}`);
      for (const b of bans) out(`ban ${b.value} at ${new Date(b.time * 1000).toISOString()} for ${b.duration}s (${b.reason})`);
    }
    return 0;
  },
};

const decisions: Command = {
  summary: 'list decisions in force (--all: the whole ledger)',
  usage: `omnitide autoblock decisions --dir DIR --domain NAME [--all] [--json]\n${stateUsage}`,
  async run(argv) {
    const { values } = parse(argv, { ...state, all: { type: 'boolean' } });
    const ab = await openFrom(values);
    try {
      for (const d of await ab.decisions({ all: !!values.all })) show(d, !!values.json);
    } finally {
      await ab.close();
    }
    return 0;
  },
};

const ban: Command = {
  summary: 'ban, throttle or allow VALUE (address, CIDR or user:name): signed and logged',
  usage: `omnitide autoblock ban VALUE --dir DIR --domain NAME [--duration SECONDS] [--reason TEXT] [--action ban|throttle|allow]\n${stateUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...state, duration: { type: 'string' }, reason: { type: 'string' }, action: { type: 'string' } });
    if (!positionals[0]) throw new UsageError('VALUE is required');
    const duration = values.duration === undefined ? undefined : Number(values.duration);
    if (duration !== undefined && !Number.isFinite(duration)) throw new UsageError('--duration: expected seconds');
    const ab = await openFrom(values);
    try {
      show(await ab.ban({ value: positionals[0], duration, reason: values.reason, action: values.action }), !!values.json);
    } finally {
      await ab.close();
    }
    return 0;
  },
};

const unban: Command = {
  summary: 'lift the decision in force for VALUE: a signed, logged unban',
  usage: `omnitide autoblock unban VALUE --dir DIR --domain NAME [--reason TEXT]\n${stateUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...state, reason: { type: 'string' } });
    if (!positionals[0]) throw new UsageError('VALUE is required');
    const ab = await openFrom(values);
    try {
      const d = await ab.unban(positionals[0], { reason: values.reason });
      if (!d) {
        process.stderr.write(`omnitide: nothing in force for ${positionals[0]}\n`);
        return 1;
      }
      show(d, !!values.json);
    } finally {
      await ab.close();
    }
    return 0;
  },
};

const explain: Command = {
  summary: 'why VALUE is (not) blocked: decision in force, its history in the ledger, detector state',
  usage: `omnitide autoblock explain VALUE --dir DIR --domain NAME [--json]\n${stateUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, state);
    if (!positionals[0]) throw new UsageError('VALUE is required');
    const ab = await openFrom(values);
    try {
      const x = await ab.explain(positionals[0]);
      if (values.json) printJson({ ...x, decision: x.decision && { ...x.decision, envelope: undefined }, history: x.history.map((h) => ({ ...h, envelope: undefined })) });
      else {
        out(`${x.value}: ${x.blocked ? 'BLOCKED' : 'not blocked'}${x.allowlisted ? ' (allowlisted)' : ''}`);
        if (x.decision) show(x.decision, false);
        for (const h of x.history) out(`  history: ${h.action} at ${new Date(h.issuedAt).toISOString()} by ${h.domain}/${h.origin}: ${h.reason} (evidence ${h.evidence.length} events)`);
      }
    } finally {
      await ab.close();
    }
    return 0;
  },
};

const verify: Command = {
  summary: "prove decision ID: ledger inclusion under a signed checkpoint and the signature's trust",
  usage: `omnitide autoblock verify ID --dir DIR --domain NAME [--json]\n${stateUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, state);
    if (!positionals[0]) throw new UsageError('ID is required');
    const ab = await openFrom(values);
    try {
      const v = await ab.verify(positionals[0]);
      if (values.json) printJson(v);
      else out(v.valid ? `valid: decision ${v.id} is entry ${v.index} of a tree of ${v.treeSize}, signed by ${v.signature?.signers.join(', ')}` : `INVALID: ${v.reason}`);
      return v.valid ? 0 : 1;
    } finally {
      await ab.close();
    }
  },
};

export const autoblockCommands: CommandGroup = {
  summary: 'detect attacks in logs/events, sign and log decisions, enforce them (fail2ban/CrowdSec-compatible)',
  commands: { run, test, decisions, ban, unban, explain, verify },
};
