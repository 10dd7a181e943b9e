import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroup, doctor, type Cgroup } from '../../ts/kernel/index.js';
import { skipReason } from './env.js';

describe.skipIf(skipReason)('omnitide/kernel cgroup v2 on the host hierarchy', () => {
  const base = `omnitide-test-${process.pid}-ts`;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    try {
      await cgroup.open(base).remove({ force: true });
    } catch {
      /* not created or already removed */
    }
  });

  function sleeper(): ChildProcess {
    const c = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(c);
    return c;
  }

  it('finds the cgroup2 mount in /proc/self/mountinfo', () => {
    const root = cgroup.root();
    const mi = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mi.split('\n').some((l) => l.includes(` ${root} `) && l.includes(' - cgroup2 '))).toBe(true);
    expect(existsSync(join(root, 'cgroup.controllers'))).toBe(true);
  });

  it('creates, moves processes, freezes, thaws, kills, reports stats and removes', async () => {
    const g: Cgroup = cgroup.create(`${base}/svc`);
    expect(g.path).toBe(`/${base}/svc`);
    const c = sleeper();
    g.addProcess(c.pid!);
    expect(g.processes()).toEqual([c.pid]);
    await g.freeze();
    expect(g.frozen).toBe(true);
    expect(g.stats().frozen).toBe(true);
    await g.thaw();
    expect(g.frozen).toBe(false);
    const s = g.stats();
    expect(s.populated).toBe(true);
    expect(s.cpu.usage_usec).toBeGreaterThanOrEqual(0);
    if (existsSync('/proc/pressure/cpu')) expect(s.pressure.cpu.some.avg10).toBeGreaterThanOrEqual(0);
    await expect(g.remove()).rejects.toMatchObject({ code: 'ERR_OMNI_BUSY' });
    const exited = new Promise((r) => c.once('exit', r));
    await g.kill();
    await exited;
    expect(g.processes()).toEqual([]);
    await g.remove();
    expect(() => g.processes()).toThrow(expect.objectContaining({ code: 'ERR_OMNI_CLOSED' }));
    // force removal kills and removes a populated tree
    const h = cgroup.create(`${base}/svc2`);
    h.addProcess(sleeper().pid!);
    await h.freeze();
    await h.remove({ force: true });
    expect(existsSync(join(cgroup.root(), base, 'svc2'))).toBe(false);
  });

  it('rejects escapes, bad limits and unavailable controllers without half-applying', () => {
    expect(() => cgroup.create('../etc')).toThrow(expect.objectContaining({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/^path: .*escapes/) }));
    expect(() => cgroup.create(`${base}/a/../../x`)).toThrow(/escapes/);
    expect(() => cgroup.open(`${base}/nope`)).toThrow(expect.objectContaining({ code: 'ERR_OMNI_NOT_FOUND' }));
    const g = cgroup.create(`${base}/limits`);
    expect(() => g.setLimits({ cpu: { weight: 0 } })).toThrow(/limits\.cpu/);
    expect(() => g.setLimits({ pids: { max: -1 } })).toThrow(/limits\.pids\.max/);
    const offered = readFileSync(join(cgroup.root(), 'cgroup.controllers'), 'utf8').trim();
    if (!offered.split(/\s+/).includes('memory')) {
      expect(() => g.setLimits({ memory: { max: 1 << 30 } })).toThrow(
        expect.objectContaining({ code: 'ERR_OMNI_CONTROLLER_UNAVAILABLE', message: expect.stringMatching(/memory controller.*cgroup\.controllers offers/) }),
      );
      expect(readFileSync(join(cgroup.root(), 'cgroup.subtree_control'), 'utf8').trim()).toBe('');
    }
  });

  it('attaches cgroup BPF: refuses connect() to a denied port and counts traffic', async () => {
    const g = cgroup.create(`${base}/net`);
    const servers: Server[] = [];
    const listen = () =>
      new Promise<number>((r) => {
        const s = createServer((sock) => sock.end());
        servers.push(s);
        s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port));
      });
    const [denied, allowed] = [await listen(), await listen()];
    try {
      g.attachPolicy({ egress: { count: true }, ingress: { count: true }, connect: { denyPorts: [denied] } });
      const script = `echo $$ > ${g.fsPath}/cgroup.procs; (exec 3<>/dev/tcp/127.0.0.1/${denied}) 2>/dev/null && echo D:ok || echo D:no; (exec 3<>/dev/tcp/127.0.0.1/${allowed}) 2>/dev/null && echo A:ok || echo A:no`;
      const out = await new Promise<string>((r) => {
        const c = spawn('bash', ['-c', script]);
        let o = '';
        c.stdout.on('data', (d) => (o += d));
        c.on('exit', () => r(o));
      });
      expect(out).toContain('D:no');
      expect(out).toContain('A:ok');
      const t = g.trafficStats();
      expect(t.connect.deniedPackets).toBeGreaterThanOrEqual(1);
      expect(t.connect.packets).toBeGreaterThanOrEqual(1);
      expect(t.egress.packets).toBeGreaterThan(0);
      expect(t.egress.bytes).toBeGreaterThan(0);
      // the host process (outside the group) is unaffected
      await new Promise<void>((r, j) => connect(denied, '127.0.0.1', r).on('error', j));
    } finally {
      for (const s of servers) s.close();
      await g.remove({ force: true });
    }
    expect(() => g.trafficStats()).toThrow(expect.objectContaining({ code: 'ERR_OMNI_CLOSED' }));
  });

  it('doctor reports the host', () => {
    const checks = doctor();
    const names = checks.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['kernel', 'btf', 'bpffs', 'cgroup2', 'root', 'CAP_BPF']));
    expect(checks.find((c) => c.name === 'root')!.ok).toBe(true);
  });
});
