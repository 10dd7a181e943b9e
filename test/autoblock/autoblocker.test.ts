import { request as httpRequest, createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoblocker, bodyOf, canonicalValue, Detector, type Decision } from '../../ts/autoblock/index.js';
import { trustRoot } from '../../ts/attest/index.js';
import { Ledger } from '../../ts/ledger/index.js';
import { blake3 } from '../../ts/crypto/index.js';

const root = mkdtempSync(join(tmpdir(), 'omni-ab-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);

const FILTER = `[Definition]
failregex = ^\\s*\\S+ app\\[\\d+\\]: login failed for <F-USER>\\S+</F-USER> from <HOST>$
`;
const jails = [{ name: 'app', filter: { text: FILTER }, maxretry: 3, findtime: 600, bantime: 3600 }];
const attempts = (ip: string, k = 3) => Array.from({ length: k }, (_, i) => `Nov 30 11:00:0${i} srv app[1]: login failed for root from ${ip}`).join('\n');

function get(port: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((res, rej) => {
    const r = httpRequest({ host: '127.0.0.1', port, path: '/', headers }, (m) => {
      m.resume();
      m.on('end', () => res(m.statusCode!));
    });
    r.on('error', rej);
    r.end();
  });
}

describe('omnitide/autoblock decisions', () => {
  it('a detection becomes a signed decision in the ledger that verify proves and explain explains', async () => {
    const dir = fresh();
    const ab = await Autoblocker.open(dir, { insecurePlaintext: true, domain: 'site-a', jails });
    try {
      const [d] = await ab.ingestLines(attempts('198.51.100.10'));
      expect(d).toMatchObject({ action: 'ban', scope: 'ip', value: '198.51.100.10', domain: 'site-a', origin: 'jail:app', logIndex: 0 });
      expect(d.evidence).toHaveLength(3);
      expect(d.expiresAt! - d.issuedAt).toBe(3600_000);
      expect(ab.lookup('198.51.100.10')?.id).toBe(d.id);
      expect(ab.lookup('::ffff:198.51.100.10')?.id).toBe(d.id);
      expect(ab.lookup('198.51.100.11')).toBeUndefined();
      const v = await ab.verify(d.id);
      expect(v).toMatchObject({ valid: true, index: 0, treeSize: 1 });
      expect(v.signature?.signers).toHaveLength(1);
      expect(await ab.verify('0'.repeat(64))).toMatchObject({ valid: false, reason: 'not in the ledger' });
      const x = await ab.explain('198.51.100.10');
      expect(x.blocked).toBe(true);
      expect(x.decision?.id).toBe(d.id);
      expect(x.history.map((h) => h.id)).toEqual([d.id]);
      // the same source again while banned: no second decision
      expect(await ab.ingestLines(attempts('198.51.100.10'))).toEqual([]);
      // unban: signed and logged too
      const u = await ab.unban('198.51.100.10', { reason: 'false positive' });
      expect(u).toMatchObject({ action: 'unban', lifts: d.id, logIndex: 1 });
      expect(ab.lookup('198.51.100.10')).toBeUndefined();
      expect((await ab.verify(u!.id)).valid).toBe(true);
      expect(await ab.unban('198.51.100.10')).toBeNull();
      expect((await ab.explain('198.51.100.10')).history.map((h) => h.action)).toEqual(['ban', 'unban']);
    } finally {
      await ab.close();
    }
    // the ledger is an ordinary omnitide/ledger log whose entries are the envelopes
    const l = await Ledger.open(join(dir, 'ledger'), { origin: 'omnitide-autoblock/site-a' });
    try {
      expect(l.size).toBe(2);
      expect(JSON.parse(Buffer.from(await l.get(0)).toString()).payloadType).toBe('application/vnd.in-toto+json');
    } finally {
      await l.close();
    }
  });

  it("structured events: each decision carries its detection's reason, origin, evidence and duration (non-ASCII names too)", async () => {
    const scenarios = [{ file: 't.yaml', text: 'type: trigger\nname: tröll-😀\ngroupby: source_ip\nlabels:\n  decision_duration: 10m\n' }];
    const time = Date.now() - 500;
    const events = [{ source_ip: '198.51.100.9', time }, { source_ip: 'user:zoë', time }, { source_ip: '2001:db8::9', time }];
    const dets = new Detector({ scenarios }).events(events);
    const ab = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-a', scenarios });
    try {
      const out = await ab.ingest(events);
      expect(out.map((d) => [d.value, d.reason, d.origin, d.evidence, d.expiresAt! - d.issuedAt])).toEqual(
        dets.map((d) => [canonicalValue(d.scope, d.value), `scenario tröll-😀: ${d.reason}`, 'scenario:tröll-😀', d.evidence, 600_000]),
      );
      for (const d of out) expect(bodyOf(d.envelope)).toMatchObject({ reason: d.reason, origin: d.origin, evidence: d.evidence });
    } finally {
      await ab.close();
    }
  });

  it('one decision per source: twice in one batch or in two concurrent ingests, the second detection adds nothing', async () => {
    const ab = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-a', scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }] });
    try {
      const same = await ab.ingest([{ source_ip: '198.51.100.1' }, { source_ip: '198.51.100.1' }, { source_ip: '198.51.100.2' }]);
      expect(same.map((d) => d.value)).toEqual(['198.51.100.1', '198.51.100.2']);
      const both = await Promise.all([ab.ingest([{ source_ip: '198.51.100.3' }]), ab.ingest([{ source_ip: '198.51.100.3' }, { source_ip: '198.51.100.4' }])]);
      expect(both.flat().map((d) => d.value).sort()).toEqual(['198.51.100.3', '198.51.100.4']);
      expect(ab.root.size).toBe(4);
      // nothing stays pending: once in force, the table answers; after an unban a detection decides again
      expect(await ab.ingest([{ source_ip: '198.51.100.3' }])).toEqual([]);
      await ab.unban('198.51.100.3');
      expect((await ab.ingest([{ source_ip: '198.51.100.3' }])).map((d) => d.value)).toEqual(['198.51.100.3']);
    } finally {
      await ab.close();
    }
  });

  it('a batch of events: each decision signed on its own, logged once in order, its envelope the stored entry', async () => {
    const dir = fresh();
    const ab = await Autoblocker.open(dir, {
      insecurePlaintext: true,
      domain: 'site-b',
      allowlist: ['10.9.0.0/16'],
      scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }],
    });
    try {
      const events = Array.from({ length: 130 }, (_, i) => ({ source_ip: `10.${i % 10 === 0 ? 9 : 8}.0.${i}` }));
      const ds = await ab.ingest(events);
      expect(ds).toHaveLength(117); // every tenth source is allowlisted
      expect(ds.map((d) => d.logIndex)).toEqual(ds.map((_, i) => i));
      expect(new Set(ds.map((d) => d.id)).size).toBe(ds.length);
      expect(ab.root.size).toBe(ds.length);
      const l = await Ledger.open(join(dir, 'ledger'), { readOnly: true });
      try {
        for (const d of [ds[0], ds[57], ds[116]]) {
          const stored = Buffer.from(await l.get(d.logIndex!)).toString('utf8');
          // the envelope object, read when first asked for, is the stored entry, and a copy carries it
          expect(JSON.stringify(d.envelope)).toBe(stored);
          expect(JSON.parse(JSON.stringify(d)).envelope).toEqual(JSON.parse(stored));
          expect({ ...d }.envelope).toEqual(d.envelope);
          // the body's keys, then id, envelope, logIndex; nothing else is seen by keys, spreads or JSON
          expect(Object.keys(d)).toEqual(['v', 'action', 'scope', 'value', 'issuedAt', 'expiresAt', 'reason', 'evidence', 'domain', 'origin', 'nonce', 'id', 'envelope', 'logIndex']);
          expect(Object.keys({ ...d })).toEqual(Object.keys(d));
          expect(Object.keys(JSON.parse(JSON.stringify(d)))).toEqual(Object.keys(d));
          expect(Object.getOwnPropertySymbols({ ...d })).toEqual([]);
          const stmt = JSON.parse(Buffer.from(d.envelope.payload, 'base64').toString('utf8'));
          const { id: _id, envelope: _env, logIndex: _li, ...body } = d;
          expect(stmt.predicate).toEqual(body);
          expect(stmt.subject).toEqual([{ name: `autoblock/ban/ip/${d.value}`, digest: { blake3: Buffer.from(blake3.hash(JSON.stringify(body))).toString('hex') } }]);
          expect(await ab.verify(d.id)).toMatchObject({ valid: true, index: d.logIndex });
        }
      } finally {
        await l.close();
      }
      expect(ab.lookup(ds[5].value)?.id).toBe(ds[5].id);
      // decisions do not share their envelopes: each reads its own, and one set replaces only its own
      expect(ds[1].envelope).not.toEqual(ds[2].envelope);
      const replaced = { ...ds[3].envelope, signatures: [] };
      ds[3].envelope = replaced;
      expect(ds[3].envelope).toBe(replaced);
      expect(ds[4].envelope.signatures).toHaveLength(1);
      // the same sources again while banned: nothing new
      expect(await ab.ingest(events)).toEqual([]);
    } finally {
      await ab.close();
    }
  });

  it('a source allowlisted while its decision is being signed: logged, not enforced (the allowlist is asked again once it changed)', async () => {
    const ab = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-d', scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }] });
    try {
      for (const n of [3, 2000]) {
        const events = Array.from({ length: n }, (_, i) => ({ source_ip: `10.${n & 255}.${i >> 8}.${i & 255}` }));
        const deciding = ab.ingest(events);
        ab.detector.allow(`10.${n & 255}.0.1`);
        const ds = await deciding;
        expect(ds).toHaveLength(n);
        expect(ds.find((d) => d.value === `10.${n & 255}.0.1`)).toBeDefined();
        expect(ab.lookup(`10.${n & 255}.0.1`)).toBeUndefined();
        expect(ab.lookup(`10.${n & 255}.0.2`)?.action).toBe('ban');
      }
      // unchanged since the batch was checked: not asked again, and nothing allowlisted is enforced
      const ds = await ab.ingest([{ source_ip: '10.5.0.1' }, { source_ip: '10.3.0.1' }]);
      expect(ds.map((d) => d.value)).toEqual(['10.5.0.1']);
      expect(ab.lookup('10.5.0.1')?.action).toBe('ban');
    } finally {
      await ab.close();
    }
  });

  it('a large batch, detected and signed in parts: the decisions of one whole batch, logged in order', async () => {
    const dir = fresh();
    const ab = await Autoblocker.open(dir, {
      insecurePlaintext: true,
      domain: 'site-c',
      allowlist: ['10.9.0.0/16'],
      scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }],
    });
    try {
      // 2,600 events (three parts): every 13th source allowlisted, and each source of the first
      // ten events seen again near the end (in another part), which decides nothing new
      const ip = (i: number) => `10.${i % 13 === 0 ? 9 : 8}.${i >> 8}.${i & 255}`;
      const events = Array.from({ length: 2600 }, (_, i) => ({ source_ip: i < 2590 ? ip(i) : ip(i - 2590) }));
      const expected = [...new Set(events.map((e) => e.source_ip))].filter((v) => !v.startsWith('10.9.'));
      const ds = await ab.ingest(events);
      expect(ds.map((d) => d.value)).toEqual(expected);
      expect(ds.map((d) => d.logIndex)).toEqual(ds.map((_, i) => i));
      expect(ab.root.size).toBe(ds.length);
      const l = await Ledger.open(join(dir, 'ledger'), { readOnly: true });
      try {
        for (const d of [ds[0], ds[1000], ds.at(-1)!]) expect(Buffer.from(await l.get(d.logIndex!)).toString('utf8')).toBe(JSON.stringify(d.envelope));
      } finally {
        await l.close();
      }
      expect(ab.lookup(ds[1500].value)?.id).toBe(ds[1500].id);
      // a bad event anywhere in a large batch is refused before anything is decided
      const bad = [...Array.from({ length: 2500 }, (_, i) => ({ source_ip: `10.6.${i >> 8}.${i & 255}` })), { source_ip: 'a\nb' }];
      await expect(ab.ingest(bad)).rejects.toThrow(/events\[2500\]\.source_ip/);
      expect(ab.root.size).toBe(ds.length);
    } finally {
      await ab.close();
    }
  });

  it('operator bans, ranges, throttles; allowlists always win; bad requests are named', async () => {
    const ab = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-a', jails, allowlist: ['192.0.2.0/24'] });
    try {
      const r = await ab.ban({ value: '203.0.113.0/24', duration: 60, reason: 'abuse' });
      expect(r).toMatchObject({ scope: 'range', value: '203.0.113.0/24' });
      expect(ab.lookup('203.0.113.77')?.id).toBe(r.id);
      const allow = await ab.ban({ value: '203.0.113.5', action: 'allow', duration: 60 });
      expect(ab.lookup('203.0.113.5')?.id).toBe(allow.id);
      const t = await ab.ban({ value: '198.51.100.0/25', action: 'throttle', rate: { pps: 1, burst: 1 } });
      expect(t.rate).toEqual({ pps: 1, burst: 1 });
      // an optional field keeps its place before the nonce, as in the signed body
      expect(Object.keys(t).slice(-6)).toEqual(['origin', 'rate', 'nonce', 'id', 'envelope', 'logIndex']);
      await expect(ab.ban({ value: '192.0.2.7' })).rejects.toThrow(/allowlisted/);
      expect(await ab.ingestLines(attempts('192.0.2.8'))).toEqual([]);
      await expect(ab.ban({ value: 'not-an-ip' })).rejects.toThrow(expect.objectContaining({ code: 'ERR_OMNI_INVALID_ARGUMENT' }));
      await expect(ab.ban({ value: '1.2.3.4', duration: Number.NaN })).rejects.toThrow(/request.duration/);
      await expect(ab.ban({ value: '1.2.3.4', bogus: 1 } as never)).rejects.toThrow(/request/);
      await expect(ab.verify('xyz')).rejects.toThrow(/id/);
    } finally {
      await ab.close();
    }
    await expect(Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'bad domain!' })).rejects.toThrow(/opts.domain/);
    await expect(Autoblocker.open('', { insecurePlaintext: true, domain: 'x' })).rejects.toThrow(/dir/);
  });

  it('HTTP middleware answers 403 for bans and 429 over a throttle, O(1) per request', async () => {
    const ab = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-a' });
    const mw = ab.middleware({ trustProxy: true });
    const server: Server = createServer((req, res) => {
      if (mw(req, res)) return;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await get(port, { 'x-forwarded-for': '198.51.100.20' })).toBe(200);
      await ab.ban({ value: '198.51.100.20', duration: 60 });
      expect(await get(port, { 'x-forwarded-for': '198.51.100.20' })).toBe(403);
      await ab.ban({ value: '198.51.100.21', action: 'throttle', rate: { pps: 1, burst: 2 } });
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push(await get(port, { 'x-forwarded-for': '198.51.100.21' }));
      expect(codes.slice(0, 2)).toEqual([200, 200]);
      expect(codes).toContain(429);
      expect(await get(port, { 'x-forwarded-for': '198.51.100.22' })).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
      await ab.close();
    }
  });

  it('a decision ends on time and is removed from the enforcers; restart re-applies what is in force', async () => {
    const dir = fresh();
    const applied: string[] = [];
    const removed: string[] = [];
    // a real enforcer implementation that keeps its own set (like the nftables writer)
    const set = new Set<string>();
    const enforcer = {
      name: 'set',
      apply: (d: Decision) => {
        set.add(d.value);
        applied.push(d.value);
      },
      remove: (d: Decision) => {
        set.delete(d.value);
        removed.push(d.value);
      },
      close: () => set.clear(),
    };
    const ab = await Autoblocker.open(dir, { insecurePlaintext: true, domain: 'site-a', enforcers: [enforcer] });
    const expired = new Promise<Decision>((r) => ab.once('expired', r));
    await ab.ban({ value: '198.51.100.30', duration: 0.3 });
    await ab.ban({ value: '198.51.100.31', duration: 3600 });
    expect([...set].sort()).toEqual(['198.51.100.30', '198.51.100.31']);
    expect((await expired).value).toBe('198.51.100.30');
    expect([...set]).toEqual(['198.51.100.31']);
    await ab.close();
    expect(set.size).toBe(0);
    const again = await Autoblocker.open(dir, { insecurePlaintext: true, domain: 'site-a', enforcers: [enforcer] });
    try {
      expect([...set]).toEqual(['198.51.100.31']);
      expect(again.lookup('198.51.100.31')).toBeDefined();
      expect(again.lookup('198.51.100.30')).toBeUndefined();
      expect((await again.decisions()).map((d) => d.value)).toEqual(['198.51.100.31']);
      expect((await again.decisions({ all: true })).length).toBe(2);
    } finally {
      await again.close();
    }
    expect(removed).toContain('198.51.100.30');
  });

  it('decisions from other domains: accepted within delegated scope, rejected and logged otherwise', async () => {
    const a = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-a' });
    const b = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'site-b' });
    const evil = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'evil' });
    const hubDir = fresh();
    // the receiving node: its own root key delegates "ip bans only, 1 h" to site-a
    const hubAuth = await Autoblocker.open(hubDir, { insecurePlaintext: true, domain: 'hub' });
    const auth = hubAuth.authority;
    auth.importPublicKey('site-a', a.publicKey);
    auth.importPublicKey('site-b', b.publicKey);
    const delegA = await auth.delegate({ from: 'hub', to: 'site-a', scope: { subjects: ['autoblock/ban/ip/*', 'autoblock/unban/ip/*'], expiresAt: Date.now() + 3600_000 } });
    const delegB = await auth.delegate({ from: 'hub', to: 'site-b', scope: { subjects: ['autoblock/ban/ip/*'], expiresAt: Date.now() + 300 } });
    const hubKey = hubAuth.publicKey;
    await hubAuth.close();
    const hub = await Autoblocker.open(hubDir, { insecurePlaintext: true, domain: 'hub', trust: { roots: [hubKey], delegations: [delegA.envelope, delegB.envelope] } });
    try {
      const ok = await a.ban({ value: '198.51.100.40', duration: 600 });
      await hub.submit(ok.envelope);
      expect(hub.lookup('198.51.100.40')?.id).toBe(ok.id);
      expect((await hub.verify(ok.id)).valid).toBe(true);
      // out of scope: a range from site-a
      const range = await a.ban({ value: '198.51.100.0/24', duration: 600 });
      await hub.submit(range.envelope);
      // expired delegation: site-b (valid for 300 ms only)
      await new Promise((r) => setTimeout(r, 400));
      const fromB = await b.ban({ value: '198.51.100.41', duration: 600 });
      await hub.submit(fromB.envelope);
      // untrusted domain
      const fromEvil = await evil.ban({ value: '198.51.100.42', duration: 600 });
      await hub.submit(fromEvil.envelope);
      // forged: the payload changed after signing
      const forged = JSON.parse(JSON.stringify(ok.envelope));
      const stmt = JSON.parse(Buffer.from(forged.payload, 'base64').toString());
      stmt.predicate.value = '198.51.100.43';
      stmt.subject[0].name = 'autoblock/ban/ip/198.51.100.43';
      forged.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
      await hub.submit(forged);
      await hub.submit('{"not": "an envelope"}');
      for (const ip of ['198.51.100.41', '198.51.100.42', '198.51.100.43', '198.51.100.99']) expect(hub.lookup(ip)).toBeUndefined();
      expect(hub.lookup('198.51.100.7')).toBeUndefined();
      const rej = hub.rejections().map((r) => r.reason);
      expect(rej).toEqual(['out_of_scope', 'expired', 'unknown_key', 'bad_signature', 'malformed']);
      const logged = readFileSync(join(hubDir, 'rejections.jsonl'), 'utf8').trim().split('\n');
      expect(logged).toHaveLength(5);
      expect(hub.root.size).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close(), evil.close(), hub.close()]);
    }
  });

  it('a global ban needs k of n domain signatures', async () => {
    const [a, b, c] = await Promise.all(['site-a', 'site-b', 'site-c'].map((d) => Autoblocker.open(fresh(), { insecurePlaintext: true, domain: d })));
    const hubDir = fresh();
    const first = await Autoblocker.open(hubDir, { insecurePlaintext: true, domain: 'hub' });
    const hubKey = first.publicKey;
    await first.close();
    const roots = trustRoot([hubKey], { roles: { global: { keys: [a.publicKey, b.publicKey, c.publicKey], threshold: 2 } } });
    const hub = await Autoblocker.open(hubDir, { insecurePlaintext: true, domain: 'hub', trust: { roots, globalRole: 'global' } });
    const plain = await Autoblocker.open(fresh(), { insecurePlaintext: true, domain: 'plain', trust: { roots: [a.publicKey] } });
    try {
      const d = await a.ban({ value: '198.51.100.50', duration: 600, global: true });
      await hub.submit(d.envelope);
      expect(hub.lookup('198.51.100.50')).toBeUndefined();
      expect(hub.rejections().at(-1)?.reason).toBe('threshold_not_met');
      const cosigned = await b.cosign(d.envelope);
      expect(cosigned.signatures).toHaveLength(2);
      await hub.submit(cosigned);
      expect(hub.lookup('198.51.100.50')?.global).toBe(true);
      // a node without a k-of-n policy refuses global decisions even from a trusted domain
      await plain.submit(cosigned);
      expect(plain.lookup('198.51.100.50')).toBeUndefined();
      expect(plain.rejections().at(-1)?.reason).toBe('threshold_not_met');
    } finally {
      await Promise.all([a.close(), b.close(), c.close(), hub.close(), plain.close()]);
    }
  });
});
