import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OmniError, XdpAction, xdp } from '../../ts/kernel/index.js';
import { ipv4Udp, ipv6Udp, removePins, sh, skipReason, v6 } from './env.js';

describe.skipIf(skipReason)('omnitide/kernel xdp via BPF_PROG_TEST_RUN', () => {
  it('blocks IPv4/IPv6 by exact address and prefix, counts per reason', async () => {
    const f = xdp.load();
    try {
      const a = ipv4Udp([10, 9, 8, 7], [10, 0, 0, 1]);
      expect(f.testRun(a).action).toBe(XdpAction.PASS);
      expect(await f.block(['10.9.8.7', '2001:db8::/32'])).toBe(2);
      expect(f.testRun(a).action).toBe(XdpAction.DROP);
      expect(f.testRun(ipv6Udp(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 5]), v6([0, 0, 0, 0, 0, 0, 0, 1]))).action).toBe(XdpAction.DROP);
      expect(f.testRun(ipv6Udp(v6([0x2001, 0xdb9, 0, 0, 0, 0, 0, 5]), v6([0, 0, 0, 0, 0, 0, 0, 1]))).action).toBe(XdpAction.PASS);
      expect(f.listBlocked().sort()).toEqual(['10.9.8.7/32', '2001:db8::/32']);
      expect(f.unblock(['10.9.8.7'])).toBe(1);
      expect(f.testRun(a).action).toBe(XdpAction.PASS);
      const s = f.stats();
      expect(s.blocked.packets).toBe(2);
      expect(s.passed.packets).toBe(3);
      expect(s.dropped).toBe(2);
      expect(s.bytes).toBeGreaterThan(0);
      f.resetStats();
      expect(f.stats().passed.packets).toBe(0);
    } finally {
      f.close();
    }
  });

  it('ARP and truncated frames pass even with 0.0.0.0/0 blocked', async () => {
    const f = xdp.load();
    try {
      await f.block(['0.0.0.0/0']);
      const arp = new Uint8Array([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1]);
      expect(f.testRun(arp).action).toBe(XdpAction.PASS);
      expect(f.testRun(ipv4Udp([1, 2, 3, 4], [5, 6, 7, 8]).subarray(0, 20)).action).toBe(XdpAction.PASS);
      expect(f.testRun(ipv4Udp([1, 2, 3, 4], [5, 6, 7, 8])).action).toBe(XdpAction.DROP);
    } finally {
      f.close();
    }
  });

  it('rate limits per source and drops probabilistically', () => {
    const f = xdp.load();
    try {
      f.setRateLimit({ cidr: '192.0.2.0/24', pps: 1, burst: 3 });
      const p = ipv4Udp([192, 0, 2, 1], [10, 0, 0, 1]);
      const v = Array.from({ length: 5 }, () => f.testRun(p).action);
      expect(v).toEqual([2, 2, 2, 1, 1]);
      expect(f.testRun(ipv4Udp([192, 0, 2, 2], [10, 0, 0, 1])).action).toBe(XdpAction.PASS);
      expect(f.rateLimits()).toEqual([{ cidr: '192.0.2.0/24', pps: 1, burst: 3 }]);
      f.setDrop({ probability: 1 });
      expect(f.testRun(ipv4Udp([198, 51, 100, 1], [10, 0, 0, 1])).action).toBe(XdpAction.DROP);
      expect(f.dropRules()).toEqual([{ probability: 1 }]);
      f.setDrop({ probability: 0 });
      f.setDrop({ cidr: '198.51.100.0/24', probability: 1 });
      expect(f.testRun(ipv4Udp([198, 51, 100, 1], [10, 0, 0, 1])).action).toBe(XdpAction.DROP);
      expect(f.testRun(ipv4Udp([198, 51, 101, 1], [10, 0, 0, 1])).action).toBe(XdpAction.PASS);
      const s = f.stats();
      expect(s.rateLimited.packets).toBe(2);
      expect(s.randomDrop.packets).toBe(2);
    } finally {
      f.close();
    }
  });

  it('sets many drop rules in one call, all-or-nothing: a bad entry refuses the batch naming its index', async () => {
    const f = xdp.load();
    try {
      const rules = Array.from({ length: 1000 }, (_, i) => ({ cidr: `10.${100 + (i >> 8)}.${i & 255}.0/24`, probability: 1 }));
      expect(await f.setDropMany(rules)).toBe(1000);
      expect(f.dropRules()).toHaveLength(1000);
      expect(f.testRun(ipv4Udp([10, 103, 231, 9], [10, 0, 0, 1])).action).toBe(XdpAction.DROP);
      expect(f.testRun(ipv4Udp([10, 103, 232, 9], [10, 0, 0, 1])).action).toBe(XdpAction.PASS);
      // the whole batch is refused before anything is written: 10.1.0.0/24 stays absent
      await expect(f.setDropMany([{ cidr: '10.1.0.0/24', probability: 1 }, { cidr: '10.2.0.0/33', probability: 1 }])).rejects.toMatchObject({
        code: 'ERR_OMNI_INVALID_ARGUMENT',
        message: expect.stringMatching(/^rules\[1\]\.cidr: /),
      });
      expect(() => f.setDropManySync([{ probability: 0.5 }, { cidr: '10.3.0.0/24', probability: 1.5 }])).toThrow(expect.objectContaining({ message: expect.stringMatching(/^rules\[1\]\.probability/) }));
      // @ts-expect-error wrong type on purpose
      await expect(f.setDropMany('10.1.0.0/24')).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/^rules: expected an array/) });
      expect(f.dropRules()).toHaveLength(1000);
      expect(f.testRun(ipv4Udp([10, 1, 0, 9], [10, 0, 0, 1])).action).toBe(XdpAction.PASS);
      expect(f.setDropManySync(rules.map((r) => ({ ...r, probability: 0 })))).toBe(1000);
      expect(f.dropRules()).toEqual([]);
    } finally {
      f.close();
    }
  });

  it('bad input is a clear OmniError and changes nothing', async () => {
    const f = xdp.load();
    try {
      await expect(f.block(['10.0.0.1', 'not-an-ip'])).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/^cidrs\[1\]: malformed CIDR/) });
      expect(f.listBlocked()).toEqual([]);
      await expect(f.block(['10.0.0.1/8'])).rejects.toThrow(/host bits set/);
      // @ts-expect-error wrong type on purpose
      await expect(f.block('10.0.0.1')).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT' });
      expect(() => f.setRateLimit({ cidr: '10.0.0.0/8', pps: 0, burst: 1 })).toThrow(/rule\.pps/);
      expect(() => f.setDrop({ probability: 2 })).toThrow(OmniError);
      expect(() => xdp.attach({ iface: 'omni-nope0' })).toThrow(expect.objectContaining({ code: 'ERR_OMNI_NOT_FOUND' }));
      // @ts-expect-error wrong mode on purpose
      expect(() => xdp.attach({ iface: 'lo', mode: 'fast' })).toThrow(/opts\.mode/);
    } finally {
      f.close();
    }
    expect(() => f.stats()).toThrow(expect.objectContaining({ code: 'ERR_OMNI_CLOSED' }));
  });

  it('blocks 1,000,000 distinct /32s from Node in one call', async () => {
    const f = xdp.load();
    try {
      const cidrs = new Array<string>(1_000_000);
      for (let i = 0; i < cidrs.length; i++) cidrs[i] = `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const t = performance.now();
      expect(await f.block(cidrs)).toBe(1_000_000);
      console.log(`blocked 1,000,000 /32 (strings) in ${(performance.now() - t).toFixed(0)} ms`);
      expect(f.testRun(ipv4Udp([11, 15, 66, 63], [10, 0, 0, 1])).action).toBe(XdpAction.DROP);
      expect(f.testRun(ipv4Udp([11, 15, 66, 64], [10, 0, 0, 1])).action).toBe(XdpAction.PASS);
    } finally {
      f.close();
    }
  });
});

describe.skipIf(skipReason)('omnitide/kernel xdp on a veth pair', () => {
  const tag = `${process.pid % 100000}`;
  const ns = `omni-test-${process.pid}-ts`;
  const host = `ov${tag}h`;
  const peer = `ov${tag}p`;
  const octet = 50 + (process.pid % 150);
  const hostIp = `10.214.${octet}.1`;
  const peerIp = `10.214.${octet}.2`;

  beforeAll(() => {
    sh(`ip netns add ${ns}; ip link add ${host} type veth peer name ${peer}; ip link set ${peer} netns ${ns};
        ip addr add ${hostIp}/24 dev ${host}; ip link set ${host} up;
        ip -n ${ns} addr add ${peerIp}/24 dev ${peer}; ip -n ${ns} link set ${peer} up`);
  });
  afterAll(() => {
    try { sh(`ip link del ${host} 2>/dev/null || true; ip netns del ${ns} 2>/dev/null || true; ${removePins(host)}`); } catch { /* best effort */ }
  });

  async function roundTrip(n: number): Promise<number> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, hostIp, () => r()));
    const port = sock.address().port;
    let got = 0;
    sock.on('message', () => got++);
    sh(`ip netns exec ${ns} bash -c 'for i in $(seq 1 ${n}); do echo omni > /dev/udp/${hostIp}/${port}; done'`);
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    return got;
  }

  for (const mode of ['native', 'generic'] as const) {
    it(`delivers, blocks and counts in ${mode} mode`, async () => {
      const f = xdp.attach({ iface: host, mode });
      try {
        expect(f.mode).toBe(mode);
        expect(await roundTrip(5)).toBe(5);
        await f.block([peerIp]);
        expect(await roundTrip(5)).toBe(0);
        const s = f.stats();
        expect(s.blocked.packets).toBeGreaterThanOrEqual(5);
        expect(s.passed.packets).toBeGreaterThanOrEqual(5);
        expect(() => xdp.attach({ iface: host, mode })).toThrow(expect.objectContaining({ code: 'ERR_OMNI_BUSY' }));
      } finally {
        f.detach();
      }
      // a second detach is a no-op, like close()
      expect(() => f.detach()).not.toThrow();
      expect(f.closed).toBe(true);
      expect(await roundTrip(3)).toBe(3);
    });
  }

  it('an unpinned filter goes away with its process; a pinned one outlives it', async () => {
    const dist = require('node:path').resolve(__dirname, '..', '..', 'dist', 'kernel', 'index.js');
    const child = (pin: boolean) =>
      sh(`${process.execPath} -e "const {xdp}=require('${dist}'); const f=xdp.attach({iface:'${host}', pin:${pin}}); f.blockSync(['${peerIp}']); console.log(f.mode)"`).trim();
    expect(child(false)).toBe('native');
    expect(sh(`ip link show ${host}`)).not.toMatch(/xdp/);
    expect(await roundTrip(2)).toBe(2);
    expect(child(true)).toBe('native');
    try {
      expect(sh(`ip link show ${host}`)).toMatch(/xdp/);
      expect(await roundTrip(2)).toBe(0);
      expect(xdp.list().map((p) => p.iface)).toContain(host);
    } finally {
      xdp.open(host).detach();
    }
    expect(sh(`ip link show ${host}`)).not.toMatch(/xdp/);
  });

  it('pins, lists, reopens and detaches', async () => {
    const f = xdp.attach({ iface: host, pin: true });
    try {
      expect(f.pinned).toBe(true);
      const netns = statSync('/proc/thread-self/ns/net').ino;
      const ifindex = Number(readFileSync(`/sys/class/net/${host}/ifindex`, 'utf8'));
      expect(f.pinPath).toBe(`/sys/fs/bpf/omnitide/net${netns}/${ifindex}-${host}`);
      expect(xdp.list().find((p) => p.iface === host)).toMatchObject({ ifindex, netns });
      await f.block([`${peerIp}/32`]);
      f.close();
      expect(xdp.list().find((p) => p.iface === host)).toMatchObject({ iface: host, ifaceExists: true });
      expect(await roundTrip(3)).toBe(0);
      const g = xdp.open(host);
      expect(g.listBlocked()).toEqual([`${peerIp}/32`]);
      expect(g.stats().blocked.packets).toBeGreaterThanOrEqual(3);
      g.detach();
      expect(xdp.list().find((p) => p.iface === host)).toBeUndefined();
      expect(await roundTrip(2)).toBe(2);
    } finally {
      sh(removePins(host));
    }
  });
});
