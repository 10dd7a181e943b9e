/**
 * Experiment files: Chaos Toolkit's shape, JSON or YAML, `${var}` substitution,
 * and validation that reports every problem with its JSON path.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { action, check, experiment, ExperimentError, loadExperiment, parseText, probe, within } from '../../ts/chaos/index.js';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-chaos-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD_YAML = `
title: drop 30% of the service's packets
description: the service keeps answering
configuration:
  iface: veth-a
  port: 8080
  base:
    type: env
    key: OMNI_CHAOS_TEST_UNSET_VAR
    default: http://10.1.2.3
steady-state-hypothesis:
  title: service answers
  probes:
    - type: probe
      name: health
      provider: { type: http, url: "\${base}:\${port}/health", timeoutMs: 500 }
      tolerance: 200
method:
  - type: action
    name: drop
    provider: { type: xdp-drop, interfaces: ["\${iface}"], cidr: 10.1.2.3/32, probability: 0.3 }
    pauses: { after: 1 }
  - type: probe
    name: latency
    provider: { type: http, url: "\${base}:\${port}/", requests: 20, measure: latency, percentile: 95 }
rollbacks: []
safety:
  blastRadius: { maxTargets: 1 }
`;

describe('omnitide/chaos experiment format', () => {
  it('parses YAML, substitutes ${var} (keeping a lone variable typed) and env entries', () => {
    const r = check(parseText(GOOD_YAML));
    expect(r.problems).toEqual([]);
    const e = r.experiment!;
    expect(e['steady-state-hypothesis']!.probes[0].provider).toMatchObject({ type: 'http', url: 'http://10.1.2.3:8080/health' });
    expect(e.method[0].provider).toMatchObject({ interfaces: ['veth-a'], probability: 0.3 });
    // overrides win over the file's configuration
    const o = check(parseText(GOOD_YAML), { iface: 'veth-b' }).experiment!;
    expect(o.method[0].provider).toMatchObject({ interfaces: ['veth-b'] });
  });

  it('reports EVERY problem with its JSON path', () => {
    const bad = {
      title: '',
      configuration: { x: 1 },
      'steady-state-hypothesis': { title: 't', probes: [{ type: 'probe', name: 'p', provider: { type: 'tcp', host: 'h', port: 70000 } }] },
      method: [
        { type: 'action', name: 'a', provider: { type: 'xdp-drop', interfaces: ['eth0'], probability: 1.5 } },
        { type: 'action', name: 'b', provider: { type: 'cgroup-freeze' } },
        { type: 'action', name: 'c', provider: { type: 'foo' } },
        { type: 'probe', name: 'd', provider: { type: 'http', url: '${nope}' } },
        { type: 'probe', name: 'e', provider: { type: 'cgroup', path: '/x', metric: 'bogus' }, tolerance: { type: 'regex', pattern: '(' } },
      ],
      rollbacks: [{ type: 'action', provider: { type: 'process', path: '/bin/true', extra: 1 } }],
      extra: true,
    };
    const lines = check(bad).problems.map((p) => `${p.path}: ${p.message}`);
    const expected = [
      /^title: /,
      /^steady-state-hypothesis\.probes\[0\]\.tolerance: a hypothesis .* needs a tolerance/,
      /^steady-state-hypothesis\.probes\[0\]\.provider\.port: /,
      /^method\[0\]\.provider\.probability: probability must be in \[0,1\]/,
      /^method\[1\]\.provider\.cgroups: a cgroup fault needs 'cgroups' or 'selector'/,
      /^method\[2\]\.provider\.type: unknown action type "foo"/,
      /^method\[3\]\.provider\.url: unknown configuration variable 'nope'/,
      /^method\[3\]\.provider\.url: /,
      /^method\[4\]\.tolerance\.pattern: bad regex/,
      /^method\[4\]\.provider\.metric: unknown cgroup metric/,
      /^rollbacks\[0\]\.name: expected a non-empty string/,
      /^rollbacks\[0\]\.provider: .*extra/,
      /^extra: unknown key 'extra'/,
    ];
    for (const re of expected) expect(lines.some((l) => re.test(l)), `${re} in\n${lines.join('\n')}`).toBe(true);
    expect(() => loadExperiment(bad)).toThrow(ExperimentError);
    try {
      loadExperiment(bad);
    } catch (e) {
      expect((e as ExperimentError).code).toBe('ERR_OMNI_INVALID_EXPERIMENT');
      expect((e as ExperimentError).problems.length).toBe(lines.length);
    }
  });

  it('the typed builder produces the same object as the file', () => {
    const built = experiment("drop 30% of the service's packets")
      .description('the service keeps answering')
      .hypothesis('service answers', probe('health', { type: 'http', url: 'http://10.1.2.3:8080/health', timeoutMs: 500 }, 200))
      .method(
        action('drop', { type: 'xdp-drop', interfaces: ['veth-a'], cidr: '10.1.2.3/32', probability: 0.3 }, { after: 1 }),
        probe('latency', { type: 'http', url: 'http://10.1.2.3:8080/', requests: 20, measure: 'latency', percentile: 95 }),
      )
      .rollbacks()
      .safety({ blastRadius: { maxTargets: 1 } })
      .build();
    const fromFile = check(parseText(GOOD_YAML)).experiment!;
    const { configuration: _c, ...rest } = fromFile;
    expect(built).toEqual(rest);
    expect(() => experiment('x').method(action('bad', { type: 'xdp-drop', interfaces: ['lo'], probability: -1 })).build()).toThrow(/method\[0\]\.provider\.probability/);
    expect(() => experiment('x').build()).toThrow(/method: the method needs at least one activity/);
  });

  it('tolerances: exact, range, regex, predicate', () => {
    expect(within(200, 200)).toBe(true);
    expect(within(200, 500)).toBe(false);
    expect(within([0, 0.1], 0.05)).toBe(true);
    expect(within([0, 0.1], 0.2)).toBe(false);
    expect(within({ type: 'range', range: [1, 2] }, 1.5)).toBe(true);
    expect(within({ type: 'regex', pattern: '^ok' }, 'ok then')).toBe(true);
    expect(within({ type: 'regex', pattern: '^ok' }, 'not ok')).toBe(false);
    expect(within({ type: 'exact', value: { a: 1 } }, { a: 1 })).toBe(true);
    expect(within((v) => (v as number) > 3, 4)).toBe(true);
    expect(within((v) => (v as number) > 3, 2)).toBe(false);
    expect(within([0, 1], null)).toBe(false);
  });

  it('CLI validate: exit 0 and a one-line OK, or every problem with its path and exit 1', () => {
    writeFileSync(join(dir, 'good.yaml'), GOOD_YAML);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ title: 'x', method: [{ type: 'action', name: 'a', provider: { type: 'foo' } }, { type: 'action', name: 'b', provider: { type: 'xdp-drop', interfaces: ['lo'], probability: 2 } }] }));
    writeFileSync(join(dir, 'broken.yaml'), 'title: [unclosed\n');
    const good = spawnSync(process.execPath, [CLI, 'chaos', 'validate', join(dir, 'good.yaml')], { encoding: 'utf8' });
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/valid \(2 method activities\)/);
    const bad = spawnSync(process.execPath, [CLI, 'chaos', 'validate', join(dir, 'bad.json')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^method\[0\]\.provider\.type: unknown action type "foo"/m);
    expect(bad.stdout).toMatch(/^method\[1\]\.provider\.probability: probability must be in \[0,1\]/m);
    const json = JSON.parse(spawnSync(process.execPath, [CLI, 'chaos', 'validate', join(dir, 'bad.json'), '--json'], { encoding: 'utf8' }).stdout);
    expect(json.valid).toBe(false);
    expect(json.problems).toHaveLength(2);
    const broken = spawnSync(process.execPath, [CLI, 'chaos', 'validate', join(dir, 'broken.yaml')], { encoding: 'utf8' });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^omnitide: .*broken\.yaml: not valid YAML/);
  });
});
