import { readFileSync } from 'node:fs';
import { OmniError } from '../errors.js';
import { cgroup, doctor as runDoctor, xdp, type CgroupLimits } from '../kernel/index.js';
import { type Command, type CommandGroup, out, parse, printJson, UsageError } from './command.js';

/** Root or the needed capabilities, else a one-line reason (no stack trace). */
function needPrivileges(what: string): void {
  if (process.getuid?.() === 0) return;
  const checks = runDoctor();
  const missing = ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'].filter((c) => !checks.find((k) => k.name === c)?.ok);
  if (missing.length) throw new OmniError('ERR_OMNI_PERMISSION', `${what} needs root or ${missing.join(' + ')} (run with sudo)`);
}

function one(positionals: string[], name: string): string {
  const v = positionals[0];
  if (v === undefined) throw new UsageError(`missing ${name}`);
  return v;
}

const doctor: Command = {
  summary: 'check kernel features for omnitide/kernel (BTF, bpffs, cgroup2, capabilities)',
  usage: `omnitide doctor [--json]
  Exit code 1 when something omnitide/kernel needs is missing (a MISS line), else 0; 'warn' lines name optional features that are unavailable.`,
  async run(argv) {
    const { values } = parse(argv, {});
    const checks = runDoctor();
    if (values.json) printJson(checks);
    else
      for (const c of checks) {
        out(`${c.ok ? 'ok  ' : c.required ? 'MISS' : 'warn'} ${c.name.padEnd(20)} ${c.detail}${!c.ok && c.disables ? `  -> disables: ${c.disables}` : ''}`);
      }
    // The same rule for every user: non-zero exactly when a required check failed (a MISS line).
    return checks.some((c) => !c.ok && c.required) ? 1 : 0;
  },
};

const attach: Command = {
  summary: 'attach the filter to an interface (pinned, so it outlives this command)',
  usage: `omnitide xdp attach IFACE [--mode auto|native|generic] [--json]
  The filter is pinned under /sys/fs/bpf/omnitide/net<NETNS>/<IFINDEX>-IFACE (per network namespace);
  remove it with 'omnitide xdp detach IFACE'. For another namespace use 'nsenter --net=/run/netns/NAME omnitide ...':
  under 'ip netns exec' the pin could not persist and attach is refused.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { mode: { type: 'string' } });
    needPrivileges('omnitide xdp attach');
    const iface = one(positionals, 'IFACE');
    const f = xdp.attach({ iface, mode: (values.mode ?? 'auto') as 'auto', pin: true });
    const info = { iface, mode: f.mode, pinPath: f.pinPath };
    f.close();
    if (values.json) printJson(info);
    else out(`attached to ${iface} in ${info.mode} mode, pinned at ${info.pinPath}`);
    return 0;
  },
};

function cidrsFrom(positionals: string[], file: string | undefined): string[] {
  const list = positionals.slice(1);
  if (file) list.push(...readFileSync(file === '-' ? 0 : file, 'utf8').split(/\s+/).filter((s) => s && !s.startsWith('#')));
  if (!list.length) throw new UsageError('give at least one CIDR (or --file)');
  return list;
}

const block: Command = {
  summary: 'block CIDRs on a pinned filter',
  usage: 'omnitide xdp block IFACE CIDR... [--file FILE|-] [--json]',
  async run(argv) {
    const { values, positionals } = parse(argv, { file: { type: 'string', short: 'f' } });
    needPrivileges('omnitide xdp block');
    const f = xdp.open(one(positionals, 'IFACE'));
    try {
      const n = await f.block(cidrsFrom(positionals, values.file));
      if (values.json) printJson({ blocked: n });
      else out(`blocked ${n}`);
    } finally {
      f.close();
    }
    return 0;
  },
};

const unblock: Command = {
  summary: 'unblock CIDRs on a pinned filter',
  usage: 'omnitide xdp unblock IFACE CIDR... [--file FILE|-] [--json]',
  async run(argv) {
    const { values, positionals } = parse(argv, { file: { type: 'string', short: 'f' } });
    needPrivileges('omnitide xdp unblock');
    const f = xdp.open(one(positionals, 'IFACE'));
    try {
      const n = f.unblock(cidrsFrom(positionals, values.file));
      if (values.json) printJson({ removed: n });
      else out(`removed ${n}`);
    } finally {
      f.close();
    }
    return 0;
  },
};

const stats: Command = {
  summary: 'per-reason counters of a pinned filter',
  usage: 'omnitide xdp stats IFACE [--json] [--list]   (--list also prints the blocklist)',
  async run(argv) {
    const { values, positionals } = parse(argv, { list: { type: 'boolean' } });
    needPrivileges('omnitide xdp stats');
    const f = xdp.open(one(positionals, 'IFACE'));
    try {
      const s = f.stats();
      const extra = values.list ? { blocked: f.listBlocked(), rateLimits: f.rateLimits(), dropRules: f.dropRules() } : {};
      if (values.json) printJson({ iface: positionals[0], mode: f.mode, stats: s, ...extra });
      else {
        out(`${positionals[0]} (${f.mode})`);
        for (const [k, c] of [['passed', s.passed], ['blocked', s.blocked], ['rate-limited', s.rateLimited], ['random-drop', s.randomDrop]] as const) {
          out(`  ${k.padEnd(13)} ${String(c.packets).padStart(12)} pkts ${String(c.bytes).padStart(14)} bytes`);
        }
        if (values.list) for (const c of extra.blocked ?? []) out(`  block ${c}`);
      }
    } finally {
      f.close();
    }
    return 0;
  },
};

const list: Command = {
  summary: 'list pinned filters',
  usage: 'omnitide xdp list [--json]',
  async run(argv) {
    const { values } = parse(argv, {});
    needPrivileges('omnitide xdp list');
    const l = xdp.list();
    if (values.json) printJson(l);
    else if (!l.length) out('no pinned omnitide filters');
    else for (const p of l) out(`${p.iface.padEnd(16)} ${p.mode.padEnd(8)} ${p.path}${p.ifaceExists ? '' : '  (interface gone)'}`);
    return 0;
  },
};

const detach: Command = {
  summary: 'detach a pinned filter and remove its pins',
  usage: 'omnitide xdp detach IFACE [--json]',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    needPrivileges('omnitide xdp detach');
    const iface = one(positionals, 'IFACE');
    xdp.open(iface).detach();
    if (values.json) printJson({ detached: iface });
    else out(`detached from ${iface}`);
    return 0;
  },
};

const num = (flag: string, v: string): number | 'max' => {
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag}: expected a non-negative integer or 'max', got '${v}'`);
  return n;
};

const cgCreate: Command = {
  summary: 'create a cgroup (path relative to the cgroup2 mount)',
  usage: 'omnitide cgroup create PATH [--json]',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    needPrivileges('omnitide cgroup create');
    const g = cgroup.create(one(positionals, 'PATH'));
    if (values.json) printJson({ path: g.path, fsPath: g.fsPath });
    else out(`created ${g.fsPath}`);
    return 0;
  },
};

const cgSet: Command = {
  summary: 'set limits (validated and checked first; nothing half-applied)',
  usage: `omnitide cgroup set PATH [--cpu-weight N] [--cpu-max QUOTA_US[/PERIOD_US]|max] [--memory-max B|max]
                         [--memory-high B|max] [--pids-max N|max] [--io 'DEV rbps=N wbps=N riops=N wiops=N']... [--add-pid PID]...`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      'cpu-weight': { type: 'string' },
      'cpu-max': { type: 'string' },
      'memory-max': { type: 'string' },
      'memory-high': { type: 'string' },
      'pids-max': { type: 'string' },
      io: { type: 'string', multiple: true },
      'add-pid': { type: 'string', multiple: true },
    });
    needPrivileges('omnitide cgroup set');
    const g = cgroup.open(one(positionals, 'PATH'));
    const l: CgroupLimits = {};
    if (values['cpu-weight'] !== undefined) l.cpu = { weight: Number(values['cpu-weight']) };
    if (values['cpu-max'] !== undefined) {
      const [q, p] = String(values['cpu-max']).split('/');
      l.cpu = { quotaUs: num('--cpu-max', q), ...(p ? { periodUs: Number(p) } : {}) } as CgroupLimits['cpu'];
    }
    if (values['memory-max'] !== undefined || values['memory-high'] !== undefined) {
      l.memory = {
        ...(values['memory-max'] !== undefined ? { max: num('--memory-max', values['memory-max']) } : {}),
        ...(values['memory-high'] !== undefined ? { high: num('--memory-high', values['memory-high']) } : {}),
      };
    }
    if (values['pids-max'] !== undefined) l.pids = { max: num('--pids-max', values['pids-max']) };
    if (values.io) {
      l.io = (values.io as string[]).map((spec) => {
        const [device, ...kvs] = spec.trim().split(/\s+/);
        const o: Record<string, unknown> = { device };
        for (const kv of kvs) {
          const [k, v] = kv.split('=');
          if (!['rbps', 'wbps', 'riops', 'wiops'].includes(k)) throw new UsageError(`--io: unknown key '${k}'`);
          o[k] = Number(v);
        }
        return o as { device: string };
      });
    }
    if (Object.keys(l).length) g.setLimits(l);
    for (const p of (values['add-pid'] as string[] | undefined) ?? []) g.addProcess(Number(p));
    if (values.json) printJson({ path: g.path, limits: l });
    else out(`updated ${g.path}`);
    return 0;
  },
};

function cgVerb(verb: 'freeze' | 'thaw' | 'kill', summary: string): Command {
  return {
    summary,
    usage: `omnitide cgroup ${verb} PATH [--json]`,
    async run(argv) {
      const { values, positionals } = parse(argv, {});
      needPrivileges(`omnitide cgroup ${verb}`);
      const g = cgroup.open(one(positionals, 'PATH'));
      await g[verb]();
      if (values.json) printJson({ path: g.path, done: verb });
      else out(`${verb}: ${g.path}`);
      return 0;
    },
  };
}

const cgStats: Command = {
  summary: 'cpu.stat, memory.current, PSI and processes of a cgroup',
  usage: 'omnitide cgroup stats PATH [--json]',
  async run(argv) {
    const { values, positionals } = parse(argv, {});
    needPrivileges('omnitide cgroup stats');
    const g = cgroup.open(one(positionals, 'PATH'));
    const s = g.stats();
    const procs = g.processes();
    if (values.json) printJson({ path: g.path, processes: procs, controllers: g.controllers(), ...s });
    else {
      out(`${g.path}  populated=${s.populated} frozen=${s.frozen} processes=${procs.length}`);
      for (const [k, v] of Object.entries(s.cpu)) out(`  cpu.${k} ${v}`);
      if (s.memoryCurrent !== undefined) out(`  memory.current ${s.memoryCurrent}`);
      for (const [r, p] of Object.entries(s.pressure)) out(`  ${r}.pressure some avg10=${p.some.avg10} total=${p.some.totalUs}us`);
    }
    return 0;
  },
};

const cgRm: Command = {
  summary: 'remove a cgroup (refuses a non-empty one unless --force, which kills first)',
  usage: 'omnitide cgroup rm PATH [--force] [--json]',
  async run(argv) {
    const { values, positionals } = parse(argv, { force: { type: 'boolean' } });
    needPrivileges('omnitide cgroup rm');
    const g = cgroup.open(one(positionals, 'PATH'));
    const path = g.path;
    await g.remove({ force: !!values.force });
    if (values.json) printJson({ removed: path });
    else out(`removed ${path}`);
    return 0;
  },
};

export const kernelCommands: Record<string, Command> = { doctor };
export const kernelGroups: Record<string, CommandGroup> = {
  xdp: { summary: 'XDP packet filter (attach, block, unblock, stats, list, detach)', commands: { attach, block, unblock, stats, list, detach } },
  cgroup: {
    summary: 'cgroup v2 control (create, set, freeze, thaw, kill, stats, rm)',
    commands: {
      create: cgCreate,
      set: cgSet,
      freeze: cgVerb('freeze', 'freeze every process of a cgroup'),
      thaw: cgVerb('thaw', 'thaw a frozen cgroup'),
      kill: cgVerb('kill', 'SIGKILL every process of a cgroup (cgroup.kill)'),
      stats: cgStats,
      rm: cgRm,
    },
  },
};
