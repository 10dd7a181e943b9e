import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removePins, sh, skipReason } from './env.js';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
function run(args: string[], prefix: string[] = []) {
  const cmd = prefix.length ? prefix[0] : process.execPath;
  const full = prefix.length ? [...prefix.slice(1), process.execPath, CLI, ...args] : [CLI, ...args];
  const r = spawnSync(cmd, full, { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(skipReason)('omnitide CLI: doctor, xdp, cgroup', () => {
  const dev = `omd${process.pid % 100000}`;
  const cg = `omnitide-test-${process.pid}-cli`;
  beforeAll(() => sh(`ip link add ${dev} type veth peer name ${dev}p && ip link set ${dev} up`));
  afterAll(() => {
    sh(`ip link del ${dev} 2>/dev/null || true; ${removePins(dev)}; rmdir ${resolve('/sys/fs/cgroup/unified', cg)} 2>/dev/null || true`);
  });

  it('doctor: the exit code means the same for root and nobody (1 exactly when a MISS line is printed)', () => {
    const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
    for (const prefix of [[], nobody]) {
      const r = run(['doctor'], prefix);
      const miss = r.stdout.split('\n').filter((l) => l.startsWith('MISS'));
      expect(r.code, r.stdout).toBe(miss.length ? 1 : 0);
      const checks = JSON.parse(run(['doctor', '--json'], prefix).stdout) as { ok: boolean; required: boolean }[];
      expect(checks.some((c) => !c.ok && c.required)).toBe(miss.length > 0);
    }
    // nobody lacks the capabilities omnitide/kernel needs
    expect(run(['doctor'], nobody).stdout).toMatch(/^MISS CAP_BPF/m);
  });

  it('doctor prints every check, --json parses', () => {
    const h = run(['doctor']);
    expect(h.stdout).toMatch(/cgroup2 +\//);
    const j = run(['doctor', '--json']);
    expect(JSON.parse(j.stdout).map((c: { name: string }) => c.name)).toContain('btf');
  });

  it('xdp attach|block|unblock|stats|list|detach', () => {
    const a = run(['xdp', 'attach', dev, '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ iface: dev, mode: 'native' });
    expect(run(['xdp', 'attach', dev]).stderr).toMatch(/^omnitide: iface: .* already has a pinned/);
    expect(run(['xdp', 'block', dev, '10.1.0.0/16', '192.0.2.7']).stdout).toBe('blocked 2\n');
    expect(run(['xdp', 'unblock', dev, '192.0.2.7', '--json']).stdout.trim()).toBe('{"removed":1}');
    const s = JSON.parse(run(['xdp', 'stats', dev, '--json', '--list']).stdout);
    expect(s.blocked).toEqual(['10.1.0.0/16']);
    expect(s.stats.passed.packets).toBeGreaterThanOrEqual(0);
    expect(run(['xdp', 'list']).stdout).toContain(dev);
    const bad = run(['xdp', 'block', dev, '10.1.0.1/16']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^omnitide: cidrs\[0\]: malformed CIDR.*host bits/);
    expect(bad.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(run(['xdp', 'detach', dev]).code).toBe(0);
    expect(run(['xdp', 'list', '--json']).stdout).not.toContain(dev);
    expect(run(['xdp', 'stats', 'omni-nope0']).stderr).toMatch(/^omnitide: iface: no pinned omnitide filter/);
  });

  it('cgroup create|set|freeze|thaw|kill|stats|rm', () => {
    expect(run(['cgroup', 'create', cg]).code).toBe(0);
    expect(run(['cgroup', 'freeze', cg]).code).toBe(0);
    expect(run(['cgroup', 'thaw', cg]).code).toBe(0);
    expect(run(['cgroup', 'kill', cg]).code).toBe(0);
    const st = JSON.parse(run(['cgroup', 'stats', cg, '--json']).stdout);
    expect(st).toMatchObject({ path: `/${cg}`, populated: false });
    const set = run(['cgroup', 'set', cg, '--memory-max', '100000000']);
    if (!st.controllers.includes('memory')) {
      expect(set.code).toBe(1);
      expect(set.stderr).toMatch(/memory controller/);
    }
    expect(run(['cgroup', 'rm', cg]).code).toBe(0);
    expect(run(['cgroup', 'rm', '../x']).stderr).toMatch(/escapes/);
  });

  it('without privileges: one-line reason and non-zero exit', () => {
    const r = run(['xdp', 'list'], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^omnitide: omnitide xdp list needs root or CAP_BPF/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});

describe.skipIf(skipReason)('omnitide xdp: pins belong to one network namespace', () => {
  const tag = process.pid % 100000;
  const nsA = `omni-nsa-${process.pid}`;
  const nsB = `omni-nsb-${process.pid}`;
  const dev = `onx${tag}`; // the same name in both namespaces, absent on the host
  const inNs = (ns: string, args: string[]) => run(args, ['nsenter', `--net=/run/netns/${ns}`]);
  const netnsIno: string[] = [];

  beforeAll(() => {
    for (const ns of [nsA, nsB]) {
      sh(`ip netns add ${ns} && ip -n ${ns} link add ${dev} type veth peer name ${dev}p && ip -n ${ns} link set ${dev} up && ip -n ${ns} link set ${dev}p up`);
      netnsIno.push(sh(`stat -L -c %i /run/netns/${ns}`).trim());
    }
  });
  afterAll(() => {
    sh(`ip netns del ${nsA} 2>/dev/null; ip netns del ${nsB} 2>/dev/null; ${netnsIno.map((i) => `rm -rf /sys/fs/bpf/omnitide/net${i};`).join(' ')} true`);
  });

  it('same-named interfaces in two namespaces get separate filters; neither acts on the other', () => {
    expect(inNs(nsA, ['xdp', 'attach', dev]).code).toBe(0);
    try {
      const b = inNs(nsB, ['xdp', 'attach', dev, '--json']);
      expect(b.code, b.stderr).toBe(0);
      expect(JSON.parse(b.stdout).pinPath).toContain(`/net${netnsIno[1]}/`);
      expect(inNs(nsB, ['xdp', 'block', dev, '192.0.2.9']).stdout).toBe('blocked 1\n');
      expect(JSON.parse(inNs(nsA, ['xdp', 'stats', dev, '--json', '--list']).stdout).blocked).toEqual([]);
      expect(JSON.parse(inNs(nsB, ['xdp', 'stats', dev, '--json', '--list']).stdout).blocked).toEqual(['192.0.2.9/32']);
      // the host has no such interface and sees neither filter
      expect(run(['xdp', 'stats', dev]).stderr).toMatch(/^omnitide: iface: no pinned omnitide filter/);
      expect(JSON.parse(run(['xdp', 'list', '--json']).stdout).map((p: { iface: string }) => p.iface)).not.toContain(dev);
      expect(inNs(nsB, ['xdp', 'detach', dev]).code).toBe(0);
      expect(sh(`ip -n ${nsB} link show ${dev}`)).not.toMatch(/xdp/);
      expect(sh(`ip -n ${nsA} link show ${dev}`)).toMatch(/xdp/);
      const listA = JSON.parse(inNs(nsA, ['xdp', 'list', '--json']).stdout);
      expect(listA).toEqual([expect.objectContaining({ iface: dev, netns: Number(netnsIno[0]), ifaceExists: true })]);
    } finally {
      inNs(nsA, ['xdp', 'detach', dev]);
    }
    expect(sh(`ip -n ${nsA} link show ${dev}`)).not.toMatch(/xdp/);
  });

  it('under `ip netns exec` (a throwaway bpffs) attach says the pin would not persist, and leaves nothing', () => {
    const r = run(['xdp', 'attach', dev], ['ip', 'netns', 'exec', nsA]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^omnitide: pin: .*private mount namespace.*vanish.*nsenter --net/);
    expect(sh(`ip -n ${nsA} link show ${dev}`)).not.toMatch(/xdp/);
    expect(JSON.parse(inNs(nsA, ['xdp', 'list', '--json']).stdout)).toEqual([]);
  });
});
