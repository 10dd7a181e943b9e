/**
 * A typed builder producing exactly the object an experiment file holds
 * (plus what only code can hold: JS function probes and predicate tolerances).
 */
import { validateExperiment, type Action, type ActionProvider, type Activity, type Experiment, type Probe, type ProbeProvider, type Safety, type Tolerance } from './schema.js';

type Pauses = { before?: number; after?: number };

export function probe(name: string, provider: ProbeProvider, tolerance?: Tolerance, pauses?: Pauses): Probe {
  return { type: 'probe', name, provider, ...(tolerance !== undefined ? { tolerance } : {}), ...(pauses ? { pauses } : {}) };
}

export function action(name: string, provider: ActionProvider, pauses?: Pauses): Action {
  return { type: 'action', name, provider, ...(pauses ? { pauses } : {}) };
}

export class ExperimentBuilder {
  readonly #e: Experiment;
  constructor(title: string) {
    this.#e = { title, method: [] };
  }
  description(d: string): this {
    this.#e.description = d;
    return this;
  }
  tags(...t: string[]): this {
    this.#e.tags = t;
    return this;
  }
  configuration(c: Record<string, unknown>): this {
    this.#e.configuration = c;
    return this;
  }
  hypothesis(title: string, ...probes: Probe[]): this {
    this.#e['steady-state-hypothesis'] = { title, probes };
    return this;
  }
  method(...activities: Activity[]): this {
    this.#e.method.push(...activities);
    return this;
  }
  rollbacks(...activities: Activity[]): this {
    this.#e.rollbacks = [...(this.#e.rollbacks ?? []), ...activities];
    return this;
  }
  safety(s: Safety): this {
    this.#e.safety = s;
    return this;
  }
  /** Validates (every problem at once, as ExperimentError) and returns the experiment object. */
  build(): Experiment {
    return validateExperiment(structuredCloneKeepingFunctions(this.#e));
  }
}

function structuredCloneKeepingFunctions<T>(v: T): T {
  if (Array.isArray(v)) return v.map(structuredCloneKeepingFunctions) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneKeepingFunctions(x)])) as T;
  return v;
}

export function experiment(title: string): ExperimentBuilder {
  return new ExperimentBuilder(title);
}
