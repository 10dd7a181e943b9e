import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Detector, packEvents, translateRegex } from '../../ts/autoblock/index.js';
import { DETECTION_NUMS, packedColumns } from '../../ts/autoblock/detector.js';

const dir = mkdtempSync(join(tmpdir(), 'omni-ab-det-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FILTER = `[Definition]
failregex = ^\\s*\\S+ app\\[\\d+\\]: login failed for <F-USER>\\S+</F-USER> from <HOST>$
ignoreregex = from 10\\.99\\.
`;
const now = Date.UTC(2026, 10, 30, 12);

describe('omnitide/autoblock detector', () => {
  it('maps Python regex syntax and rejects what has no linear-time equivalent, naming the problem', () => {
    expect(translateRegex('a{,3}\\Z')).toEqual(['(?:a){0,3}\\z']);
    expect(translateRegex('^(?P<i>x )?y(?(i)1|2)$')).toHaveLength(2);
    // a back-reference to a group of a few strings becomes variants; to any other group only a filter can check it
    expect(translateRegex('(?P<a>x|y)-(?P=a)')).toEqual(['(?P<a>x)\\-x', '(?P<a>y)\\-y']);
    expect(() => translateRegex('(?P<a>x+)(?P=a)')).toThrow(expect.objectContaining({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/back-reference/) }));
    expect(() => translateRegex('(x)\\1')).toThrow(/back-reference/);
    expect(() => translateRegex('x(?=y)')).toThrow(/look-around/);
    expect(() => translateRegex(42 as unknown as string)).toThrow(/pattern/);
  });

  it('a catastrophic regex runs in linear time (no backtracking)', () => {
    const f = `[Definition]\nfailregex = ^(a+)+$ <HOST>\n`;
    const d = new Detector({ jails: [{ name: 'evil', filter: { text: f } }] });
    const line = 'a'.repeat(50_000) + '!';
    // a backtracking engine needs ~2^50000 steps here (the test would time out)
    expect(d.lines(line)).toEqual([]);
    expect(d.stats().missed).toBe(1);
  });

  it('malformed filter and scenario files: file, line and problem', () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, '[Definition]\nfailregex = ^ok <HOST>$\n            ^(?P<a>x)\\1 <HOST>\n');
    expect(() => new Detector({ jails: [{ name: 'x', filter: bad }] })).toThrow(new RegExp(`${bad}:3.*back-reference`));
    const partial = new Detector({ jails: [{ name: 'x', filter: bad, allowPartial: true }] });
    expect(partial.problems).toHaveLength(1);
    expect(partial.problems[0]).toMatch(/bad.conf:3/);
    writeFileSync(join(dir, 'nosec.conf'), 'failregex = x\n');
    expect(() => new Detector({ jails: [{ name: 'x', filter: join(dir, 'nosec.conf') }] })).toThrow(/nosec.conf:1: option before any \[section\]/);
    expect(() => new Detector({ jails: [{ name: 'x', filter: join(dir, 'missing.conf') }] })).toThrow(expect.objectContaining({ code: 'ERR_OMNI_IO' }));
    expect(() => new Detector({ scenarios: [{ file: 's.yaml', text: 'type: leaky\nname: a\ncapacity: [1\n' }] })).toThrow(/s.yaml/);
    expect(() => new Detector({ scenarios: [{ file: 's.yaml', text: 'type: leaky\nname: a\nleakspeed: 1s\nfilter: "evt.Meta.x =="\n' }] })).toThrow(/s.yaml: scenario 'a': filter/);
    expect(() => new Detector({ jails: [{ name: 'x', filter: { text: FILTER }, maxretry: 0 }] })).toThrow(/config.jails.0.maxretry/);
    expect(() => new Detector({ jails: [{ name: 'x', filter: { text: FILTER }, bantime: '1 fortnight' }] })).toThrow(/jails\[0\].bantime/);
  });

  it('bans after maxretry with evidence; allowlisted sources never count', () => {
    const d = new Detector({ jails: [{ name: 'app', filter: { text: FILTER }, maxretry: 3, findtime: '10m', bantime: '1h' }], allowlist: ['192.0.2.0/24', 'user:ops'] });
    const lines = (ip: string, user = 'root') =>
      [1, 2, 3].map((s) => `Nov 30 11:00:0${s} srv app[1]: login failed for ${user} from ${ip}`).join('\n');
    const bans = d.lines([lines('198.51.100.4'), lines('192.0.2.9'), lines('203.0.113.5', 'ops'), lines('10.99.0.1')].join('\n'), { now });
    expect(bans).toHaveLength(1);
    expect(bans[0]).toMatchObject({ origin: 'jail', name: 'app', scope: 'ip', value: '198.51.100.4', duration: 3600, count: 3 });
    expect(bans[0].evidence).toHaveLength(3);
    const s = d.stats();
    expect(s).toMatchObject({ allowlisted: 6, ignored: 3, failures: 3, detections: 1 });
    const x = d.explain('198.51.100.4', now);
    expect(x.jails).toEqual([expect.objectContaining({ jail: 'app', banned: true })]);
  });

  it('binary garbage, 1 MB lines, clock jumps: no crash, nothing lost', () => {
    const d = new Detector({ jails: [{ name: 'app', filter: { text: FILTER }, maxretry: 2 }] });
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    expect(d.lines(garbage, { now })).toEqual([]);
    expect(d.lines('x'.repeat(1 << 20) + '\n', { now })).toEqual([]);
    expect(d.stats().truncated).toBe(1);
    // time going backwards (clock jump) still counts both failures
    const back = 'Nov 30 11:00:09 srv app[1]: login failed for a from 198.51.100.7\nNov 30 10:00:01 srv app[1]: login failed for a from 198.51.100.7';
    expect(d.lines(back, { now })).toHaveLength(1);
  });

  it('scenarios: leaky brute force and HyperLogLog-distinct port scan over structured events', () => {
    const d = new Detector({
      scenarios: [
        { file: 'bf.yaml', text: "type: leaky\nname: http-bf\nfilter: \"evt.Meta.log_type == 'http_auth_fail'\"\ngroupby: evt.Meta.source_ip\ncapacity: 4\nleakspeed: 10s\nblackhole: 1m\nlabels:\n  remediation: true\n" },
        { file: 'scan.yaml', text: "type: distinct\nname: port-scan\ngroupby: evt.Meta.source_ip\ndistinct: evt.Meta.port\ncapacity: 15\nduration: 1m\nblackhole: 5m\nlabels:\n  decision_duration: 10m\n---\ntype: trigger\nname: honeypot\nfilter: \"evt.Meta.port in ['2323']\"\ngroupby: source_ip\nlabels:\n  type: throttle\n" },
      ],
      allowlist: ['192.0.2.1'],
    });
    const t = now;
    const ev = [];
    for (let i = 0; i < 6; i++) ev.push({ time: t + i * 100, log_type: 'http_auth_fail', source_ip: '198.51.100.1' });
    for (let p = 0; p < 40; p++) ev.push({ time: t + p, source_ip: '198.51.100.2', port: 1000 + (p % 20) });
    ev.push({ time: t, source_ip: '198.51.100.3', port: 2323 });
    for (let i = 0; i < 10; i++) ev.push({ time: t + i, log_type: 'http_auth_fail', source_ip: '192.0.2.1' });
    const out = d.events(ev);
    expect(out.map((o) => [o.name, o.value, o.action])).toEqual([
      ['http-bf', '198.51.100.1', 'ban'],
      ['port-scan', '198.51.100.2', 'ban'],
      ['honeypot', '198.51.100.3', 'throttle'],
    ]);
    expect(out[1].duration).toBe(600);
    expect(d.stats().allowlisted).toBe(10);
  });

  it("the Autoblocker's columnar form holds the same detections as packed's objects (UTF-16 lengths of non-ASCII names)", () => {
    const cfg = {
      scenarios: [
        { file: 'bf.yaml', text: "type: leaky\nname: http-bf-ünïcode-😀\ngroupby: evt.Meta.source_ip\ncapacity: 2\nleakspeed: 10s\nblackhole: 1m\n" },
        { file: 'hp.yaml', text: "type: trigger\nname: honeypot\ngroupby: source_ip\nlabels:\n  type: throttle\n  decision_duration: 10m\n" },
      ],
    };
    const ev = [];
    for (let i = 0; i < 4; i++) ev.push({ time: now + i, source_ip: '198.51.100.7' });
    ev.push({ time: now, source_ip: '2001:db8::1' });
    const buf = packEvents('events', ev);
    const objects = new Detector(cfg).packed(buf);
    const c = new Detector(cfg)[packedColumns](buf);
    expect(objects.map((d) => d.name).sort()).toEqual([...Array(5).fill('honeypot'), 'http-bf-ünïcode-😀']);
    expect(c.nums.length).toBe(DETECTION_NUMS * objects.length);
    let at = 0;
    let l = 0;
    const next = () => c.text.slice(at, (at += c.lens[l++]));
    objects.forEach((d, i) => {
      expect([next(), next(), next()]).toEqual([d.value, `${d.origin} ${d.name}: ${d.reason}`, `${d.origin}:${d.name}`]);
      expect(Array.from({ length: c.lens[l++] }, next)).toEqual(d.evidence);
      const [time, duration, action, scope] = c.nums.subarray(DETECTION_NUMS * i, DETECTION_NUMS * i + DETECTION_NUMS);
      expect([time, duration, ['ban', 'throttle'][action], ['ip', 'range', 'user'][scope]]).toEqual([d.time, d.duration, d.action, d.scope]);
    });
    expect([at, l]).toEqual([c.text.length, c.lens.length]);
  });

  it('bad events are named; the packed form rejects separators', () => {
    const d = new Detector();
    expect(() => d.events([null as unknown as Record<string, string>])).toThrow(/events\[0\]/);
    expect(() => d.events([{ source_ip: 'a\nb' }])).toThrow(/events\[0\].source_ip/);
    expect(() => d.events([{ time: Number.NaN }])).toThrow(/events\[0\].time/);
    expect(() => d.events('x' as unknown as [])).toThrow(/events/);
    expect(packEvents('e', [{ time: 1000, a: 'b' }])).toEqual(new TextEncoder().encode('1\x1fa\x1eb'));
    expect(() => d.lines(5 as unknown as string)).toThrow(/text/);
  });
});
