import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh, skipReason } from './env.js';

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
    sh(`ip link del ${dev} 2>/dev/null || true; rm -rf /sys/fs/bpf/omnitide/${dev}; rmdir ${resolve('/sys/fs/cgroup/unified', cg)} 2>/dev/null || true`);
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
