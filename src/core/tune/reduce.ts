// The reduction autotuner: times each candidate variant of prims/reduce.ts per (family, shape class) of a first pass
// and records the fastest in the tuning table, which the reductions consult before their heuristic. Browser-safe.
import { engine, type Engine } from '../engine.ts';
import { randomK } from '../prims/random.ts';
import {
  argReduceK,
  hasSubgroups,
  reduceCandidates,
  reduceClassKey,
  reduceK,
  reduceVariantPlan,
  setReduceChooser,
  softmaxK,
  type ReduceFamily,
  type ReduceProblem,
} from '../prims/reduce.ts';
import { adapterKey, recordChoice, type TuningTable } from './table.ts';
import { median, timeCalls, tuningTableFor } from './timing.ts';

/** A reduction over the middle axis of an [outer, r, inner] view: sum (reduce), argmax (arg) or softmax. */
export interface ReduceTuneShape {
  family: ReduceFamily;
  outer: number;
  r: number;
  inner: number;
}

export interface ReduceTuneOptions {
  /** The table to fill; default: the engine's (a new one is created and attached when it has none). */
  table?: TuningTable;
  /** Timed submits per candidate, interleaved across candidates; the median is kept. Default 3. */
  trials?: number;
  /** Time classes that the table already has (default: keep their choice). */
  retune?: boolean;
  log?: (line: string) => void;
}

export interface ReduceTuneResult {
  key: string;
  variant: string;
  /** Median ms per call of each candidate (empty when cached). */
  ms: Record<string, number>;
  cached: boolean;
}


export async function autotuneReduce(e: Engine, shapes: ReduceTuneShape[], opts: ReduceTuneOptions = {}): Promise<ReduceTuneResult[]> {
  if (e !== engine()) throw new Error('autotuneReduce: the engine must be the current one');
  const table = tuningTableFor(e, opts.table);
  const trials = Math.max(1, opts.trials ?? 3);
  const results: ReduceTuneResult[] = [];
  for (const [i, s] of shapes.entries()) {
    const problem: ReduceProblem = { ...s, pass: 0, subgroups: hasSubgroups(e), software: e.info.isSoftware };
    const key = reduceClassKey(problem);
    const known = table.adapters[adapterKey(e.info)]?.entries[key];
    if (known && !opts.retune) {
      results.push({ key, variant: known.variant, ms: {}, cached: true });
      continue;
    }
    const x = randomK('uniform', [s.outer, s.r, s.inner], 1000 + i, -1, 1);
    const run = (): void => {
      if (s.family === 'reduce') reduceK('sum', x, 1).dispose();
      else if (s.family === 'arg') argReduceK('argmax', x, 1).dispose();
      else softmaxK(x, 1).dispose();
    };
    const call = (v: string) => (): void => {
      // The variant plans the first pass; passes over partials use the default plan.
      const prev = setReduceChooser((p) => reduceVariantPlan(v, p) ?? { kernel: 'thread', wg: 64, chunks: 1 });
      try {
        run();
      } finally {
        setReduceChooser(prev);
      }
    };
    try {
      const candidates = reduceCandidates(problem);
      const estimate = new Map<string, number>();
      for (const v of candidates) {
        await timeCalls(e, call(v), 1);
        estimate.set(v, await timeCalls(e, call(v), 1));
      }
      const samples = new Map<string, number[]>(candidates.map((v) => [v, []]));
      for (let t = 0; t < trials; t++) {
        for (const v of candidates) {
          const reps = Math.max(1, Math.min(50, Math.round(20 / Math.max(estimate.get(v)!, 1e-3))));
          samples.get(v)!.push(await timeCalls(e, call(v), reps));
        }
      }
      const ms: Record<string, number> = {};
      for (const [v, xs] of samples) ms[v] = median(xs);
      const variant = candidates.reduce((a, b) => (ms[b] < ms[a] ? b : a));
      recordChoice(table, e.info, key, { variant, shape: { outer: s.outer, r: s.r, inner: s.inner }, ms, tunedAt: new Date().toISOString() });
      opts.log?.(`${key}: ${variant} (${candidates.map((v) => `${v} ${ms[v].toFixed(2)}`).join(', ')} ms)`);
      results.push({ key, variant, ms, cached: false });
    } finally {
      x.dispose();
    }
  }
  return results;
}
