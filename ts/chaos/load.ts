/**
 * Reading experiments: JSON or YAML, Chaos Toolkit `configuration` with
 * `${name}` substitution (a value of `{type: 'env', key, default}` reads the
 * environment), then validation that reports every problem with its path.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { OmniError } from '../errors.js';
import { type Experiment, ExperimentError, type Problem, problemsOf } from './schema.js';

function resolveConfig(config: Record<string, unknown>, overrides: Record<string, unknown>, problems: Problem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && (v as { type?: unknown }).type === 'env') {
      const e = v as { key?: unknown; default?: unknown };
      if (typeof e.key !== 'string') {
        problems.push({ path: `configuration.${k}.key`, message: 'an env entry needs a string key' });
        continue;
      }
      const got = process.env[e.key];
      if (got !== undefined) out[k] = got;
      else if (e.default !== undefined) out[k] = e.default;
      else problems.push({ path: `configuration.${k}`, message: `environment variable ${e.key} is not set and has no default` });
    } else out[k] = v;
  }
  return { ...out, ...overrides };
}

const WHOLE = /^\$\{([A-Za-z_][\w.-]*)\}$/;
const PART = /\$\{([A-Za-z_][\w.-]*)\}/g;

function substitute(v: unknown, vars: Record<string, unknown>, path: string, problems: Problem[]): unknown {
  if (typeof v === 'string') {
    const whole = WHOLE.exec(v);
    if (whole) {
      if (!(whole[1] in vars)) problems.push({ path, message: `unknown configuration variable '${whole[1]}'` });
      // a lone ${x} keeps the variable's type (a number stays a number)
      return whole[1] in vars ? vars[whole[1]] : v;
    }
    return v.replace(PART, (m, name: string) => {
      if (!(name in vars)) {
        problems.push({ path, message: `unknown configuration variable '${name}'` });
        return m;
      }
      return String(vars[name]);
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => substitute(x, vars, `${path}[${i}]`, problems));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = k === 'configuration' && !path ? x : substitute(x, vars, path ? `${path}.${k}` : k, problems);
    return o;
  }
  return v;
}

export interface LoadResult {
  experiment: Experiment | null;
  problems: Problem[];
}

/** Substitutes configuration and collects every problem (never throws for content problems). */
export function check(raw: unknown, vars: Record<string, unknown> = {}): LoadResult {
  const problems: Problem[] = [];
  let exp = raw;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const cfg = (raw as { configuration?: unknown }).configuration;
    const resolved = cfg && typeof cfg === 'object' && !Array.isArray(cfg) ? resolveConfig(cfg as Record<string, unknown>, vars, problems) : { ...vars };
    exp = substitute(raw, resolved, '', problems);
  }
  problems.push(...problemsOf(exp));
  return { experiment: problems.length ? null : (exp as Experiment), problems };
}

/** Parses JSON or YAML text (YAML is a superset; JSON is tried first for its clearer errors). */
export function parseText(text: string, name = 'experiment'): unknown {
  const t = text.trimStart();
  try {
    return t.startsWith('{') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new OmniError('ERR_OMNI_INVALID_EXPERIMENT', `${name}: not valid ${t.startsWith('{') ? 'JSON' : 'YAML'}: ${(e as Error).message}`, { cause: e });
  }
}

export function readExperimentFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new OmniError('ERR_OMNI_NOT_FOUND', `experiment file '${file}': ${(e as Error).message}`, { cause: e });
  }
  return parseText(text, file);
}

/** Loads, substitutes and validates; throws ExperimentError listing every problem. */
export function loadExperiment(source: string | object, vars: Record<string, unknown> = {}): Experiment {
  const raw = typeof source === 'string' ? readExperimentFile(source) : source;
  const r = check(raw, vars);
  if (!r.experiment) throw new ExperimentError(r.problems);
  return r.experiment;
}
