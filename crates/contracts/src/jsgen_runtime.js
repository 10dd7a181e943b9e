// Runtime of the generated JavaScript target (embedded by jsgen.rs; semantics mirror eval.rs).
class Ent { constructor(t, i) { this.t = t; this.i = i; this.k = t + '::' + JSON.stringify(i); } }
class Ip {
  constructor(v6, n, prefix) { this.v6 = v6; this.n = n; this.p = prefix; }
  net() { const w = this.v6 ? 128n : 32n; const host = w - BigInt(this.p); return (this.n >> host) << host; }
  inRange(o) {
    if (this.v6 !== o.v6 || this.p < o.p) return false;
    const w = this.v6 ? 128n : 32n; const host = w - BigInt(o.p);
    return (this.net() >> host) === (o.net() >> host);
  }
}
const MIN = -(2n ** 63n), MAX = 2n ** 63n - 1n;
function fail(m) { throw new Error(m); }
function kind(v) {
  if (typeof v === 'boolean') return 'bool'; if (typeof v === 'number' || typeof v === 'bigint') return 'long';
  if (typeof v === 'string') return 'string'; if (v instanceof Ent) return 'entity'; if (v instanceof Ip) return 'ipaddr';
  if (Array.isArray(v)) return 'set'; return 'record';
}
function B(v) { if (typeof v !== 'boolean') fail('type error: expected bool, got ' + kind(v)); return v; }
function L(v) { if (typeof v !== 'number' && typeof v !== 'bigint') fail('type error: expected long, got ' + kind(v)); return v; }
function Str(v) { if (typeof v !== 'string') fail('type error: like expects string, got ' + kind(v)); return v; }
function En(v) { if (!(v instanceof Ent)) fail('type error: expected entity, got ' + kind(v)); return v; }
function norm(b) { return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b; }
function arith(op, a, b) {
  L(a); L(b);
  if (typeof a === 'number' && typeof b === 'number') {
    const r = op === 0 ? a + b : op === 1 ? a - b : a * b;
    if (Number.isSafeInteger(r)) return r;
  }
  const x = BigInt(a), y = BigInt(b); const r = op === 0 ? x + y : op === 1 ? x - y : x * y;
  if (r < MIN || r > MAX) fail('integer overflow');
  return norm(r);
}
function neg(a) { L(a); const r = -BigInt(a); if (r > MAX) fail('integer overflow in negation'); return norm(r); }
function eq(a, b) {
  if (a === b) return true;
  const ka = kind(a), kb = kind(b);
  if (ka !== kb) return false;
  switch (ka) {
    case 'long': return a == b; // number vs bigint compare by value
    case 'entity': return a.k === b.k;
    case 'ipaddr': return a.v6 === b.v6 && a.n === b.n && a.p === b.p;
    case 'set': return a.every((x) => b.some((y) => eq(x, y))) && b.every((y) => a.some((x) => eq(x, y)));
    case 'record': {
      const ak = Object.keys(a), bk = Object.keys(b);
      return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(b, k) && eq(a[k], b[k]));
    }
    default: return false;
  }
}
function mkset(xs) { const o = []; for (const x of xs) if (!o.some((y) => eq(x, y))) o.push(x); return o; }
function mkrec(kv) { const o = Object.create(null); for (const [k, v] of kv) o[k] = v; return o; }
function inK(S, e, key) { if (e.k === key) return true; const d = S.get(e.k); return d !== undefined && d.anc.has(key); }
function inV(S, a, b) {
  En(a);
  if (b instanceof Ent) return inK(S, a, b.k);
  if (Array.isArray(b)) { let f = false; for (const x of b) { if (!(x instanceof Ent)) fail('type error: in expects a set of entities'); f = f || inK(S, a, x.k); } return f; }
  return fail('type error: in expects an entity or set of entities, got ' + kind(b));
}
function isIn(S, x, t, r) { En(x); if (x.t !== t) return false; return inV(S, x, r()); }
function has(S, x, a) {
  if (x instanceof Ent) { const d = S.get(x.k); return d !== undefined && Object.prototype.hasOwnProperty.call(d.attrs, a); }
  if (kind(x) === 'record') return Object.prototype.hasOwnProperty.call(x, a);
  return fail('type error: has expects an entity or record, got ' + kind(x));
}
function at(S, x, a) {
  if (x instanceof Ent) {
    const d = S.get(x.k); if (d === undefined) fail('entity ' + x.k + ' does not exist');
    if (!Object.prototype.hasOwnProperty.call(d.attrs, a)) fail('entity does not have the attribute ' + a);
    return d.attrs[a];
  }
  if (kind(x) === 'record') { if (!Object.prototype.hasOwnProperty.call(x, a)) fail('record does not have the attribute ' + a); return x[a]; }
  return fail('type error: .' + a + ' expects an entity or record, got ' + kind(x));
}
function parseIp(s) {
  const slash = s.indexOf('/'); const a = slash < 0 ? s : s.slice(0, slash); const ps = slash < 0 ? null : s.slice(slash + 1);
  let v6 = false, n = 0n;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) {
    for (const part of a.split('.')) { if (part.length > 1 && part[0] === '0') return null; const x = Number(part); if (x > 255) return null; n = (n << 8n) | BigInt(x); }
  } else if (a.includes(':') && /^[0-9a-fA-F:.]+$/.test(a)) {
    v6 = true; const halves = a.split('::'); if (halves.length > 2) return null;
    const grp = (h) => (h === '' ? [] : h.split(':'));
    const head = grp(halves[0]), tail = halves.length === 2 ? grp(halves[1]) : [];
    const expand = (gs) => { const o = []; for (const g of gs) { if (g.includes('.')) { const v4 = parseIp(g); if (!v4 || v4.v6) return null; o.push(Number(v4.n >> 16n), Number(v4.n & 0xffffn)); } else { if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null; o.push(parseInt(g, 16)); } } return o; };
    const h = expand(head), t = expand(tail); if (!h || !t) return null;
    const fill = halves.length === 2 ? 8 - h.length - t.length : 0; if (fill < (halves.length === 2 ? 1 : 0) || h.length + t.length + fill !== 8) return null;
    for (const g of [...h, ...Array(fill).fill(0), ...t]) n = (n << 16n) | BigInt(g);
  } else return null;
  const w = v6 ? 128 : 32; let p = w;
  if (ps !== null) { if (!/^\d{1,3}$/.test(ps)) return null; p = Number(ps); if (p > w) return null; }
  return new Ip(v6, n, p);
}
function ipf(s) { const r = typeof s === 'string' ? parseIp(s) : fail('type error: ip() expects string'); if (r === null) fail("'" + s + "' is not an IP address or range"); return r; }
const LOOP4 = parseIp('127.0.0.0/8'), LOOP6 = parseIp('::1/128'), MC4 = parseIp('224.0.0.0/4'), MC6 = parseIp('ff00::/8');
function meth(name, r, args) {
  const n = { contains: 1, containsAll: 1, containsAny: 1, isEmpty: 0, isInRange: 1, isIpv4: 0, isIpv6: 0, isLoopback: 0, isMulticast: 0 }[name];
  if (n === undefined) fail('unknown method ' + name);
  if (args.length !== n) fail(name + ' takes ' + n + ' argument(s)');
  switch (name) {
    case 'contains': if (!Array.isArray(r)) fail('type error: contains expects set'); return r.some((x) => eq(x, args[0]));
    case 'containsAll': case 'containsAny': {
      if (!Array.isArray(r)) fail('type error: ' + name + ' expects set'); const o = args[0]; if (!Array.isArray(o)) fail('type error: ' + name + ' expects a set argument');
      return name === 'containsAll' ? o.every((x) => r.some((y) => eq(x, y))) : o.some((x) => r.some((y) => eq(x, y)));
    }
    case 'isEmpty': if (!Array.isArray(r)) fail('type error: isEmpty expects set'); return r.length === 0;
    default: {
      if (!(r instanceof Ip)) fail('type error: ' + name + ' expects ipaddr');
      if (name === 'isInRange') { if (!(args[0] instanceof Ip)) fail('type error: isInRange expects an ipaddr argument'); return r.inRange(args[0]); }
      if (name === 'isIpv4') return !r.v6; if (name === 'isIpv6') return r.v6;
      if (name === 'isLoopback') return r.inRange(r.v6 ? LOOP6 : LOOP4);
      return r.inRange(r.v6 ? MC6 : MC4);
    }
  }
}
function call(f, args) { if (f === 'ip' && args.length === 1) return ipf(args[0]); return fail('unknown extension function ' + f); }
function val(j, path) {
  if (typeof j === 'boolean' || typeof j === 'string') return j;
  if (typeof j === 'number') { if (!Number.isInteger(j)) fail(path + ': ' + j + ' is not an integer'); return j; }
  if (typeof j === 'bigint') { if (j < MIN || j > MAX) fail(path + ': out of 64-bit range'); return norm(j); }
  if (Array.isArray(j)) return mkset(j.map((x, i) => val(x, path + '[' + i + ']')));
  if (j !== null && typeof j === 'object') {
    if (j.__entity) return uid(j.__entity, path);
    if (j.__extn) { if (j.__extn.fn !== 'ip' && j.__extn.fn !== 'ipaddr') fail(path + ': unsupported extension ' + j.__extn.fn); return ipf(j.__extn.arg); }
    const o = Object.create(null); for (const k of Object.keys(j)) o[k] = val(j[k], path + '.' + k); return o;
  }
  return fail(path + ': not a contract value');
}
function uid(u, path) {
  const x = u && u.__entity ? u.__entity : u;
  if (!x || typeof x.type !== 'string' || typeof x.id !== 'string') fail(path + ': an entity reference must be {type, id}');
  return new Ent(x.type, x.id);
}
function buildStore(entities) {
  if (!Array.isArray(entities)) fail('entities: must be an array');
  const S = new Map();
  entities.forEach((e, i) => {
    const u = uid(e.uid, 'entities[' + i + '].uid');
    if (S.has(u.k)) fail('entities[' + i + ']: duplicate entity ' + u.k);
    S.set(u.k, { attrs: val(e.attrs || {}, 'entities[' + i + '].attrs'), parents: (e.parents || []).map((p, k) => uid(p, 'entities[' + i + '].parents[' + k + ']').k), anc: null });
  });
  const visiting = new Set();
  const close = (k) => {
    const d = S.get(k); if (d === undefined) return null; if (d.anc) return d.anc;
    if (visiting.has(k)) fail('entities: cycle in the entity hierarchy at ' + k);
    visiting.add(k); const anc = new Set();
    for (const p of d.parents) { anc.add(p); const pa = close(p); if (pa) for (const x of pa) anc.add(x); }
    visiting.delete(k); d.anc = anc; return anc;
  };
  for (const k of S.keys()) close(k);
  return S;
}
function makeLoader(POLICIES) {
  const permits = POLICIES.filter((p) => p.permit), forbids = POLICIES.filter((p) => !p.permit);
  return function load(entities) {
    const S = buildStore(entities);
    const prep = (req) => {
      const C = req.context === undefined ? Object.create(null) : val(req.context, 'request.context');
      if (kind(C) !== 'record') fail('request.context: must be an object');
      return [uid(req.principal, 'request.principal'), uid(req.action, 'request.action'), uid(req.resource, 'request.resource'), C];
    };
    return {
      decide(req) {
        const [P, A, R, C] = prep(req);
        for (const p of forbids) { try { if (p.f(S, P, A, R, C)) return false; } catch (e) { /* a failing policy is skipped */ } }
        for (const p of permits) { try { if (p.f(S, P, A, R, C)) return true; } catch (e) { /* skipped */ } }
        return false;
      },
      explain(req) {
        const [P, A, R, C] = prep(req);
        const sat = { permit: [], forbid: [] }, errors = [];
        for (const p of POLICIES) {
          try { if (p.f(S, P, A, R, C)) (p.permit ? sat.permit : sat.forbid).push(p.id); } catch (e) { errors.push({ policy: p.id, message: e.message }); }
        }
        const decision = sat.forbid.length ? 'deny' : sat.permit.length ? 'allow' : 'deny';
        return { decision, reasons: sat.forbid.length ? sat.forbid : sat.permit, errors };
      },
    };
  };
}
