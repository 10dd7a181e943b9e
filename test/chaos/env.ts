/**
 * Fixtures of the chaos kernel tests: a veth pair into a namespace the test
 * creates, an HTTP service inside it, and a cgroup with a sleeping process.
 * Every teardown is best effort and idempotent (called from finally/afterAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroup, type Cgroup } from '../../ts/kernel/index.js';
import { sh } from '../kernel/env.js';

export { sh, skipReason } from '../kernel/env.js';

export interface Netns {
  ns: string;
  host: string;
  peer: string;
  hostIp: string;
  peerIp: string;
  url: string;
  port: number;
  down(): void;
}

const SERVER = `const http=require('http');const s=http.createServer((q,r)=>{r.setHeader('connection','close');r.end('ok '+q.url)});
s.listen(0,process.argv[1],()=>console.log(s.address().port));process.stdin.on('end',()=>process.exit(0));process.stdin.resume();`;

/** A namespace `omni-chaos-<pid>-<tag>` with an HTTP service on the peer address; `tag` keeps names unique per suite. */
export async function netnsWithService(tag: number): Promise<Netns> {
  const id = `${process.pid % 10000}${tag}`;
  const ns = `omni-chaos-${process.pid}-${tag}`;
  const host = `oc${id}h`;
  const peer = `oc${id}p`;
  // a second octet per suite (tag) and a third per process: parallel suites never share a subnet
  const octet = 20 + (process.pid % 200);
  const hostIp = `10.${217 + tag}.${octet}.1`;
  const peerIp = `10.${217 + tag}.${octet}.2`;
  let server: ChildProcess | undefined;
  const down = () => {
    server?.kill('SIGKILL');
    try {
      sh(`ip link del ${host} 2>/dev/null || true; ip netns del ${ns} 2>/dev/null || true`);
    } catch {
      /* best effort */
    }
  };
  try {
    sh(`ip netns add ${ns}; ip link add ${host} type veth peer name ${peer}; ip link set ${peer} netns ${ns};
        ip addr add ${hostIp}/24 dev ${host}; ip link set ${host} up;
        ip -n ${ns} addr add ${peerIp}/24 dev ${peer}; ip -n ${ns} link set ${peer} up; ip -n ${ns} link set lo up`);
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, peerIp], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      server!.stdout!.on('data', (d: Buffer) => {
        buf += d;
        if (buf.includes('\n')) resolve(Number(buf.trim()));
      });
      server!.once('exit', (c) => reject(new Error(`service exited with ${c}`)));
    });
    return { ns, host, peer, hostIp, peerIp, port, url: `http://${peerIp}:${port}/`, down };
  } catch (e) {
    down();
    throw e;
  }
}

export interface SleepingCgroup {
  path: string;
  group: Cgroup;
  child: ChildProcess;
  remove(): Promise<void>;
}

/** A cgroup with one `sleep` in it. */
export function cgroupWithSleeper(name: string): SleepingCgroup {
  const group = cgroup.create(name);
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  group.addProcess(child.pid!);
  return {
    path: group.path,
    group,
    child,
    async remove() {
      child.kill('SIGKILL');
      try {
        await group.thaw();
      } catch {
        /* gone */
      }
      try {
        await group.remove({ force: true });
      } catch {
        /* gone */
      }
    },
  };
}

/** One suite's sleeping cgroups under `base` and its state dir; `cleanup()` (for afterAll) removes them all, best effort. */
export function cgroupSuite(base: string): { state: { dir: string; remove(): void }; make(name: string): SleepingCgroup; cleanup(): Promise<void> } {
  const state = tempStateDir();
  const groups: SleepingCgroup[] = [];
  return {
    state,
    make(name) {
      const g = cgroupWithSleeper(`${base}/${name}`);
      groups.push(g);
      return g;
    },
    async cleanup() {
      for (const g of groups) await g.remove();
      try {
        await cgroup.open(base).remove({ force: true });
      } catch {
        /* not created */
      }
      state.remove();
    },
  };
}

export function tempStateDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'omni-chaos-state-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether an XDP program is attached to `iface` (root namespace). */
export function hasXdp(iface: string): boolean {
  return /\bxdp/.test(sh(`ip link show dev ${iface}`));
}

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
