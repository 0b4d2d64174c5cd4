// The matmul autotuner: for each shape class not yet in the tuning table, time every candidate variant on a
// representative shape on this adapter and record the fastest. Browser-safe: it only returns and fills the table;
// src/node/tuning.ts (or a browser's storage) persists it.
import { engine, type Engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { randomK } from '../prims/random.ts';
import {
  availableMatmulVariants,
  matmulClass,
  matmulK,
  matmulVariantFits,
  planMatmul,
  type MatmulVariant,
} from '../prims/matmul.ts';
import { adapterKey, matmulClassKey, recordChoice, type MatmulClassShape, type TuningTable } from './table.ts';
import { median, timeCalls, tuningTableFor } from './timing.ts';

/** One matmul to tune for: operand shapes as stored (A [..., k, m] when transposed, B [..., n, k]). */
export interface MatmulTuneShape {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

export interface AutotuneOptions {
  /** The table to fill; default: the engine's (a new one is created and attached when it has none). */
  table?: TuningTable;
  /** Candidates; default: every variant this device can run. */
  variants?: MatmulVariant[];
  /** Dispatches per timed submit; default: enough for about 20 ms, 1 to 50. */
  reps?: number;
  /** Timed submits per candidate, interleaved across candidates; the median is kept. Default 3. */
  trials?: number;
  /** Time classes that the table already has (default: keep their choice). */
  retune?: boolean;
  /** Drop a candidate whose first timed run is this many times slower than the fastest one's (default 5). */
  prune?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface AutotuneResult {
  key: string;
  shape: MatmulClassShape;
  variant: MatmulVariant;
  /** Median ms per call of each timed candidate (empty when cached). */
  ms: Partial<Record<MatmulVariant, number>>;
  /** Candidates dropped after one run for being far slower than the best. */
  pruned: MatmulVariant[];
  /** The table already had this class. */
  cached: boolean;
}


/**
 * Tune the shape classes of `shapes` on engine `e` (which must be the current engine). Each class is timed once per
 * adapter; the choice goes into the table, which matmulK then consults for every shape of that class.
 */
export async function autotuneMatmul(e: Engine, shapes: MatmulTuneShape[], opts: AutotuneOptions = {}): Promise<AutotuneResult[]> {
  if (e !== engine()) throw new Error('autotuneMatmul: the engine must be the current one');
  const table = tuningTableFor(e, opts.table);
  const trials = Math.max(1, opts.trials ?? 3);
  const prune = opts.prune ?? 5;
  const results: AutotuneResult[] = [];
  for (const [i, s] of shapes.entries()) {
    const ta = s.transA ?? false;
    const tb = s.transB ?? false;
    const plan = planMatmul(s.a, s.b, ta, tb);
    const shape = matmulClass(plan);
    const key = matmulClassKey(shape);
    const known = table.adapters[adapterKey(e.info)]?.entries[key];
    if (known && !opts.retune) {
      results.push({ key, shape, variant: known.variant as MatmulVariant, ms: {}, pruned: [], cached: true });
      continue;
    }
    const candidates = (opts.variants ?? availableMatmulVariants(e)).filter(
      (v) => availableMatmulVariants(e).includes(v) && matmulVariantFits(v, plan, e),
    );
    if (!candidates.length) throw new Error(`autotuneMatmul: no candidate variant fits ${key}`);
    const a = randomK('uniform', s.a, 2 * i + 1, -1, 1);
    const b = randomK('uniform', s.b, 2 * i + 2, -1, 1);
    const call = (v: MatmulVariant) => (): void => matmulK(a, b, ta, tb, { variant: v }).dispose();
    try {
      // First run compiles the pipelines; the second is the estimate used for pruning and repetitions.
      const estimate = new Map<MatmulVariant, number>();
      for (const v of candidates) {
        await timeCalls(e, call(v), 1);
        estimate.set(v, await timeCalls(e, call(v), 1));
      }
      const best = Math.min(...estimate.values());
      const pruned = candidates.filter((v) => estimate.get(v)! > prune * best);
      for (const v of pruned) {
        estimate.delete(v);
        opts.log?.(`${key}: ${v} pruned (first timed run ${prune}x slower than the fastest)`);
      }
      const samples = new Map<MatmulVariant, number[]>([...estimate.keys()].map((v) => [v, []]));
      for (let t = 0; t < trials; t++) {
        for (const [v, est] of estimate) {
          const reps = opts.reps ?? Math.max(1, Math.min(50, Math.round(20 / Math.max(est, 1e-3))));
          samples.get(v)!.push(await timeCalls(e, call(v), reps));
        }
      }
      const ms: Partial<Record<MatmulVariant, number>> = {};
      for (const [v, xs] of samples) ms[v] = median(xs);
      const variant = [...samples.keys()].reduce((x, y) => (ms[y]! < ms[x]! ? y : x));
      recordChoice(table, e.info, key, {
        variant,
        shape: { ...shape },
        ms: Object.fromEntries(Object.entries(ms).map(([v, t]) => [v, Math.round(t! * 1000) / 1000])),
        tunedAt: new Date().toISOString(),
      });
      opts.log?.(`${key}: ${variant} (${Object.entries(ms).map(([v, t]) => `${v} ${t!.toFixed(2)}`).join(', ')} ms)`);
      results.push({ key, shape, variant, ms, pruned, cached: false });
    } finally {
      disposeAll([a, b]);
    }
  }
  return results;
}

function disposeAll(ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}
