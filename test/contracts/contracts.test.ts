import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as c from '../../ts/contracts/index.js';
import { OmniError } from '../../ts/errors.js';
import { thrown } from '../helpers/thrown.js';

const SCHEMA = `entity Group;
entity User in [Group] { dept: String, level: Long, manager?: User };
entity Doc { owner: User, public: Bool };
action "view", "edit", "delete" appliesTo { principal: [User], resource: [Doc], context: { hour: Long } };
`;
const DOCS = `${SCHEMA}
@id("view-public")
permit(principal, action == Action::"view", resource) when { resource.public };
@id("owner-edit")
permit(principal, action in [Action::"edit", Action::"delete"], resource) when { resource.owner == principal };
@id("no-contractor-delete")
forbid(principal in Group::"contractors", action == Action::"delete", resource);
assert never permit when { principal in Group::"contractors" && action == Action::"delete" };
assert never permit when { action == Action::"edit" };
`;
const u = (type: string, id: string) => ({ type, id });

describe('diagnostics (snapshot-tested messages)', () => {
  it('type errors carry line:column, a caret, an explanation and did-you-mean', () => {
    const src = `${SCHEMA}permit(principal, action == Action::"veiw", resource)\nwhen { principal.levle > 3 && context.hour < "9" };\n`;
    const r = c.check(src, { file: 'docs.cedar' });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.rendered).join('\n\n')).toBe(
      [
        'docs.cedar:5:19: error: unknown action Action::"veiw"',
        '  |',
        '5 | permit(principal, action == Action::"veiw", resource)',
        '  |                   ^^^^^^',
        '  = help: declare it with `action "..." appliesTo { ... };`',
        '  = did you mean `Action::"view"`?',
        '',
        'docs.cedar:6:8: error: entity type User has no attribute \'levle\'',
        '  |',
        '6 | when { principal.levle > 3 && context.hour < "9" };',
        '  |        ^^^^^^^^^^^^^^^',
        '  = did you mean `level`?',
        '',
        'docs.cedar:6:46: error: the right operand of \'<\' must be Long, but this is String',
        '  |',
        '6 | when { principal.levle > 3 && context.hour < "9" };',
        '  |                                              ^^^',
      ].join('\n'),
    );
  });
  it('syntax errors and optional attributes', () => {
    const r = c.check('permit(principal, action, resource) when { principal.level > };');
    expect(r.diagnostics[0].rendered).toBe(
      "contract:1:62: error: expected an expression, found '}'\n  |\n1 | permit(principal, action, resource) when { principal.level > };\n  |                                                              ^",
    );
    const o = c.check(`${SCHEMA}permit(principal, action, resource) when { principal.manager == resource.owner };`);
    expect(o.diagnostics[0].message).toBe("attribute 'manager' is optional and may be missing here");
    expect(o.diagnostics[0].help).toBe('guard it: `principal has manager && ...`');
    expect(c.check(`${SCHEMA}permit(principal, action, resource) when { principal has manager && principal.manager == resource.owner };`).ok).toBe(true);
  });
  it('evaluating an invalid contract throws ERR_OMNI_CONTRACT_INVALID with the rendered diagnostic', () => {
    const e = thrown(() => c.evaluate('permit(principal, action, resource) when { 1 < "a" };', { requests: [] }));
    expect(e.code).toBe('ERR_OMNI_CONTRACT_INVALID');
    expect(e.message).toContain("contract:1:48: error: the right operand of '<' must be Long, but this is String");
  });
});

describe('format', () => {
  it('is idempotent', () => {
    const once = c.format(DOCS);
    expect(c.format(once)).toBe(once);
    expect(once).toContain('permit(\n  principal,\n  action == Action::"view",\n  resource\n)\nwhen { resource.public };');
  });
});

describe('evaluation with explanations', () => {
  const entities: c.Entity[] = [
    { uid: u('User', 'bob'), attrs: { dept: 'ops', level: 2 }, parents: [u('Group', 'contractors')] },
    { uid: u('Doc', 'd1'), attrs: { owner: { __entity: u('User', 'bob') }, public: false } },
    { uid: u('Group', 'contractors') },
  ];
  it('names the deciding policies; forbid overrides permit; default deny', () => {
    const rq = (a: string) => ({ principal: u('User', 'bob'), action: u('Action', a), resource: u('Doc', 'd1'), context: { hour: 9 } });
    const d = c.evaluate(DOCS, { entities, requests: [rq('edit'), rq('delete'), rq('view')] });
    expect(d).toEqual([
      { decision: 'allow', reasons: ['owner-edit'], errors: [] },
      { decision: 'deny', reasons: ['no-contractor-delete'], errors: [] },
      { decision: 'deny', reasons: [], errors: [] },
    ]);
  });
  it('rejects hierarchy cycles and malformed requests with named arguments', () => {
    const cyc = thrown(() => c.evaluate(DOCS, { entities: [{ uid: u('Group', 'a'), parents: [u('Group', 'b')] }, { uid: u('Group', 'b'), parents: [u('Group', 'a')] }], requests: [] }));
    expect(cyc.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(cyc.message).toMatch(/cycle in the entity hierarchy: Group::"(a|b)" -> Group::"(a|b)" -> Group::"(a|b)"/);
    const bad = thrown(() => c.evaluate(DOCS, { requests: [{ principal: u('User', 'x'), action: u('Action', 'view') } as never] }));
    expect(bad.message).toContain('input.requests');
    expect(thrown(() => c.evaluate(42 as never, { requests: [] })).message).toBe('source: must be a contract source string, got number');
  });
});

describe('verification', () => {
  it('proves with a checked DRAT proof and refutes with a replayable request', async () => {
    const [p, q] = await c.prove(DOCS);
    expect(p.status).toBe('proved');
    if (p.status === 'proved') expect(p.proof.checker).toBe('drat');
    expect(q.status).toBe('refuted');
    if (q.status === 'refuted') {
      const [d] = c.evaluate(DOCS, { entities: q.entities, requests: [q.request] });
      expect(d.decision).toBe('allow');
      expect(q.request.action).toEqual(u('Action', 'edit'));
    }
  });
  it('diff returns a distinguishing request or proves equivalence', async () => {
    const a = 'permit(principal, action, resource) when { context.n >= 3 };';
    const d = await c.diff(a, 'permit(principal, action, resource) when { context.n > 3 };');
    expect(d.status).toBe('different');
    if (d.status === 'different') {
      expect(d.request.context).toEqual({ n: 3 });
      expect([d.before, d.after]).toEqual(['allow', 'deny']);
    }
    expect((await c.diff(a, 'permit(principal, action, resource) when { 3 <= context.n };')).status).toBe('equivalent');
  });
  it('says unknown (never proved) where the encoding is unbounded', async () => {
    const src = 'permit(principal, action, resource) when { context.a * context.a == 2 };\nassert never permit when { true };';
    const [r] = await c.prove(src);
    expect(r.status).toBe('unknown');
    if (r.status === 'unknown') expect(r.reason).toContain('context.a * context.a == 2');
  });
  it('static analysis findings', () => {
    const src = `permit(principal, action, resource) when { context.n > 5 && context.n < 3 };
permit(principal == User::"a", action, resource);
forbid(principal, action, resource) when { principal in Group::"banned" };
permit(principal in Group::"banned", action, resource);
ratelimit { key: principal, burst: 5, refill: 1, per: "1s", exceed: "deny" } when { context.n > 5 && context.n < 3 };
@id("lat") slo { objective: "latency", metric: "latncy_ms", percentile: 99, max: 250, window: "5m", breach: "alert" };`;
    const r = c.check(src, { metrics: ['latency_ms'] });
    const kinds = r.findings.map((f) => `${f.kind}:${f.ids.join(',')}`);
    expect(kinds).toContain('never-fires:policy0');
    expect(kinds).toContain('shadowed-by-forbid:policy3,policy2');
    expect(kinds).toContain('overlap:policy1,policy2');
    expect(kinds).toContain('limit-never-triggers:ratelimit0');
    expect(r.findings.find((f) => f.kind === 'unknown-metric')?.message).toBe("slo 'lat' reads metric 'latncy_ms', which is not among the known metrics (did you mean 'latency_ms'?)");
    const overlap = r.findings.find((f) => f.kind === 'overlap')!;
    expect(c.evaluate(src, { entities: overlap.entities, requests: [overlap.request!] })[0].reasons).toContain('policy2');
  });
});

describe('rate limits and SLOs', () => {
  it('token buckets per key: burst, refill, on-exceed', () => {
    const src = 'ratelimit { key: context.ip, burst: 2, refill: 1, per: "1s", exceed: "throttle" } when { action == Action::"login" };';
    const rq = (ip: string, at: number) => ({ request: { principal: u('User', 'a'), action: u('Action', 'login'), resource: u('App', 'x'), context: { ip } }, at });
    const r = c.rateLimit(src, { requests: [rq('1.1.1.1', 0), rq('1.1.1.1', 1), rq('1.1.1.1', 2), rq('2.2.2.2', 3), rq('1.1.1.1', 1003)] });
    expect(r.map((x) => x.length)).toEqual([0, 0, 1, 0, 0]);
    expect(r[2][0]).toEqual({ limit: 'ratelimit0', key: '"1.1.1.1"', action: 'throttle' });
  });
  it('SLO objectives over windows with actions on breach', () => {
    const src = `@id("p99") slo { objective: "latency", metric: "lat", percentile: 99, max: 100, window: "1m", breach: "alert" };
@id("avail") slo { objective: "availability", good: "ok", total: "all", min: "99.9%", window: "1h", breach: "block" };`;
    const r = c.evaluateSlos(src, { now: 120_000, samples: { lat: [[1000, 500], [70_000, 50], [80_000, 120]], ok: [[100_000, 998]], all: [[100_000, 1000]] } });
    expect(r.map((x) => [x.id, x.value, x.breached, x.action])).toEqual([
      ['p99', 120, true, 'alert'],
      ['avail', 0.998, true, 'block'],
    ]);
  });
});

describe('bad input', () => {
  it('enormous and deeply nested contracts are diagnostics, not crashes', () => {
    const deep = `permit(principal, action, resource) when { ${'('.repeat(1_000_000)}true${')'.repeat(1_000_000)} };`;
    expect(c.check(deep).diagnostics[0].message).toBe('expression nested deeper than 128 levels');
    const big = 'permit(principal, action, resource);\n'.repeat(300_000);
    expect(c.check(big).diagnostics[0].message).toMatch(/^contract is \d+ bytes; the limit is 4194304 bytes$/);
  });
  it('integer overflow in a condition skips the policy (Cedar semantics) and is reported', () => {
    const d = c.evaluate('permit(principal, action, resource) when { context.n * 2 > 0 };', { requests: [{ principal: u('U', 'a'), action: u('Action', 'x'), resource: u('R', 'r'), context: { n: 2 ** 62 } }] });
    expect(d[0]).toEqual({ decision: 'deny', reasons: [], errors: [{ policy: 'policy0', message: 'integer overflow: 4611686018427388000 * 2' }] });
  });
});

describe('omnitide contract CLI', () => {
  const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'omni-contract-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  it('check, prove, diff, fmt, eval, compile, --help', () => {
    const f = join(dir, 'docs.cedar');
    writeFileSync(f, DOCS);
    expect(run(['contract', 'check', f]).code).toBe(0);
    const p = run(['contract', 'prove', f, '--json']);
    expect(p.code).toBe(1);
    expect(JSON.parse(p.stdout).map((x: { status: string }) => x.status)).toEqual(['proved', 'refuted']);
    const g = join(dir, 'v2.cedar');
    writeFileSync(g, DOCS.replace('forbid(', 'permit('));
    const d = JSON.parse(run(['contract', 'diff', f, g, '--json']).stdout);
    expect(d.status).toBe('different');
    expect(run(['contract', 'fmt', f]).stdout).toBe(c.format(DOCS));
    const reqs = join(dir, 'reqs.json');
    writeFileSync(reqs, JSON.stringify([{ principal: u('User', 'x'), action: u('Action', 'view'), resource: u('Doc', 'd'), context: {} }]));
    expect(run(['contract', 'eval', f, '--requests', reqs]).stdout.trim()).toBe('0: deny (default deny); skipped on error: view-public');
    expect(run(['contract', 'compile', f]).stdout).toMatch(/^module\.exports = \(function/);
    const wf = join(dir, 'docs.wasm');
    const cw = run(['contract', 'compile', f, '--target', 'wasm', '--out', wf, '--json']);
    expect(cw.code).toBe(0);
    expect(JSON.parse(cw.stdout)).toMatchObject({ target: 'wasm', out: wf });
    expect(new Uint8Array(readFileSync(wf))).toEqual(c.compileWasm(DOCS).bytes);
    expect(run(['contract', 'compile', f, '--target', 'wasm']).code).not.toBe(0);
    expect(run(['contract', '--help']).stdout).toContain('prove');
    const bad = join(dir, 'bad.cedar');
    writeFileSync(bad, 'permit(principal, action, resource) when { principal.x < };');
    const b = run(['contract', 'check', bad]);
    expect(b.code).toBe(1);
    expect(b.stdout).toContain("bad.cedar:1:58: error: expected an expression, found '}'");
  });
});
