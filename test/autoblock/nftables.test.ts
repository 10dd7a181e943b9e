/**
 * The nftables set writer in a network namespace the test creates: a TCP
 * service runs inside the namespace behind a veth pair; the autoblocker writes
 * its bans into an nftables table of that namespace. A ban adds the element
 * with its timeout and the client's connections are dropped; an unban removes
 * it; a short range ban ends on time; close() deletes the table. The namespace,
 * the veth pair and the service are removed in finally.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Autoblocker, nftablesEnforcer } from '../../ts/autoblock/index.js';
import { sh, skipReason } from '../kernel/env.js';

const NFT = ['/usr/sbin/nft', '/sbin/nft'].some((p) => spawnSync(p, ['--version']).status === 0);
if (!skipReason && !NFT) {
  const msg = '!!! SKIPPING autoblock nftables test: nft is not installed !!!';
  if (process.env.CI === 'true') throw new Error(`${msg} — .ci/run installs nftables`);
  console.warn(`\n${msg}\n`);
}

/** Does a TCP connection from this (root) namespace reach the service? (a dropped SYN times out) */
function reaches(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port, timeout: 1000 });
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('timeout', () => (s.destroy(), res(false)));
    s.once('error', () => (s.destroy(), res(false)));
  });
}

interface Elem {
  val: string | { prefix: { addr: string; len: number } };
  timeout?: number;
}

function elements(ns: string, table: string): { value: string; timeout: number | undefined }[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'set', 'inet', table, 'blocklist4'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft list set: ${r.stderr}`);
  const set = (JSON.parse(r.stdout).nftables as { set?: { elem?: ({ elem: Elem } | string)[] } }[]).find((x) => x.set)!.set!;
  return (set.elem ?? []).map((e) => {
    const el: Elem = typeof e === 'string' ? { val: e } : e.elem;
    const value = typeof el.val === 'string' ? el.val : `${el.val.prefix.addr}/${el.val.prefix.len}`;
    return { value, timeout: el.timeout };
  });
}

const tableExists = (ns: string, table: string) => spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', table]).status === 0;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Skips without root or with OMNITIDE_SKIP_KERNEL_TESTS=1 (namespaces and nftables need CAP_NET_ADMIN), or outside CI
// without nft; under CI=true a missing nft is an error above (.ci/run installs nftables). CI runs as root.
describe.skipIf(skipReason || !NFT)('omnitide/autoblock nftables enforcement in a network namespace', () => {
  it('a ban adds the element with its timeout and drops the client; unban removes it; a range ban ends on time; close deletes the table', async () => {
    const tag = `${process.pid % 100000}`;
    const ns = `omni-abnft-${process.pid}`;
    const host = `oan${tag}h`;
    const peer = `oan${tag}p`;
    const octet = 50 + (process.pid % 150);
    const clientIp = `10.217.${octet}.1`;
    const serviceIp = `10.217.${octet}.2`;
    const table = `omni_ab_${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 'omni-ab-nft-'));
    let service: ChildProcess | undefined;
    let ab: Autoblocker | undefined;
    try {
      sh(`ip netns add ${ns}; ip link add ${host} type veth peer name ${peer}; ip link set ${peer} netns ${ns};
          ip addr add ${clientIp}/24 dev ${host}; ip link set ${host} up;
          ip -n ${ns} addr add ${serviceIp}/24 dev ${peer}; ip -n ${ns} link set ${peer} up; ip -n ${ns} link set lo up`);
      // the service: a TCP listener inside the namespace
      service = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `const s=require('net').createServer(c=>c.end());s.listen(0,'${serviceIp}',()=>console.log(s.address().port))`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const port = await new Promise<number>((res, rej) => {
        service!.stdout!.once('data', (b: Buffer) => res(Number(b.toString().trim())));
        service!.once('exit', (code) => rej(new Error(`service exited with ${code}`)));
      });
      expect(await reaches(serviceIp, port)).toBe(true);

      ab = await Autoblocker.open(join(dir, 'state'), { insecurePlaintext: true, domain: 'nft-site', enforcers: [nftablesEnforcer({ netns: ns, table })] });
      const d = await ab.ban({ value: clientIp, duration: 600, reason: 'test' });
      const [el] = elements(ns, table);
      expect(el.value).toBe(clientIp);
      expect(el.timeout).toBeGreaterThanOrEqual(599);
      expect(el.timeout).toBeLessThanOrEqual(600);
      expect(await reaches(serviceIp, port)).toBe(false);

      await ab.unban(clientIp);
      expect(elements(ns, table)).toEqual([]);
      expect(await reaches(serviceIp, port)).toBe(true);

      // a range ban with a short duration: in the set with its timeout, gone on time
      const r = await ab.ban({ value: `10.217.${octet}.0/24`, duration: 2 });
      expect(elements(ns, table)).toEqual([{ value: `10.217.${octet}.0/24`, timeout: 2 }]);
      expect(await reaches(serviceIp, port)).toBe(false);
      await until('the range ban to end', async () => elements(ns, table).length === 0 && (await reaches(serviceIp, port)));
      expect(ab.lookup(clientIp)).toBeUndefined();
      expect((await ab.verify(d.id)).valid).toBe(true);
      expect((await ab.verify(r.id)).valid).toBe(true);

      // a ban in force when the autoblocker closes: the table goes with it
      await ab.ban({ value: clientIp, duration: 600 });
      expect(tableExists(ns, table)).toBe(true);
      await ab.close();
      ab = undefined;
      expect(tableExists(ns, table)).toBe(false);
      expect(await reaches(serviceIp, port)).toBe(true);
    } finally {
      await ab?.close();
      // the table lives in the namespace: deleting the namespace removes it whatever happened above
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', table]);
      service?.kill('SIGKILL');
      sh(`ip link del ${host} 2>/dev/null || true; ip netns del ${ns} 2>/dev/null || true`);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
