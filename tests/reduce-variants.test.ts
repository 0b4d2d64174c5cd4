// Every reduction variant (tree, subgroup, thread-per-output, multi-pass, default chooser) on awkward shapes: sum,
// max/min, argmax/argmin, logsumexp, softmax, logSoftmax vs the float64 reference, and fused-softmax gradients per variant.
import { describe, it, expect, afterEach } from 'vitest';
import * as E from '../src/node/index.ts';
import {
  setReduceChooser,
  hasSubgroups,
  defaultReducePlan,
  reduceClassKey,
  reduceCandidates,
  reduceVariantPlan,
  type ReduceChooser,
  type PassKernel,
} from '../src/core/prims/reduce.ts';
import { adapterKey, emptyTuning, recordChoice, setTuning } from '../src/core/tune/table.ts';
import { autotuneReduce } from '../src/core/tune/reduce.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, expectClose, randArr, rng, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';
import { TOL } from './support/tolerances.ts';

const held = useEngine();
afterEach(() => {
  setReduceChooser(null);
});

type Axes = number | number[] | undefined;

/** A forced plan: a fixed kernel and workgroup size, and (split) many chunks so that several passes run. */
function forced(kernel: PassKernel, wg: number, split: boolean): ReduceChooser {
  return (p) => ({ kernel, wg, chunks: split && p.r >= 3 ? Math.min(Math.ceil(p.r / 2), 5) : 1 });
}

interface Variant {
  name: string;
  chooser: ReduceChooser;
  subgroups?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'default heuristic', chooser: defaultReducePlan },
  // On a software adapter the default plans for it; this runs the plans a GPU would get.
  { name: 'default heuristic, GPU branch', chooser: (p) => defaultReducePlan({ ...p, software: false }) },
  { name: 'tree', chooser: forced('tree', 256, false) },
  { name: 'tree wg 32', chooser: forced('tree', 32, false) },
  { name: 'subgroup', chooser: forced('subgroup', 256, false), subgroups: true },
  { name: 'subgroup wg 16', chooser: forced('subgroup', 16, false), subgroups: true },
  { name: 'thread', chooser: forced('thread', 64, false) },
  { name: 'multi-pass tree', chooser: forced('tree', 64, true) },
  { name: 'multi-pass subgroup', chooser: forced('subgroup', 128, true), subgroups: true },
  { name: 'multi-pass thread', chooser: forced('thread', 256, true) },
];

const maxOf = (v: number[]): number => v.reduce((a, b) => (b > a ? b : a), -Infinity);
const minOf = (v: number[]): number => v.reduce((a, b) => (b < a ? b : a), Infinity);
const lseOf = (v: number[]): number => {
  const m = maxOf(v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
const firstIndex =
  (better: (u: number, v: number) => boolean) =>
  (v: number[]): number => {
    let best = 0;
    for (let k = 1; k < v.length; k++) if (better(v[k], v[best])) best = k;
    return best;
  };
const argmaxOf = firstIndex((u, v) => u > v);
const argminOf = firstIndex((u, v) => u < v);

function refLogSoftmax(x: R.Arr, axis: number): R.Arr {
  return R.zip(x, R.reduce(x, axis, true, lseOf), (u, l) => u - l);
}

/** A random permutation of the grid 0.02 k centred on 0: all values distinct, so max/argmax have one answer. */
function distinct(shape: number[], seed: number): R.Arr {
  const a = R.arr(shape);
  const n = a.data.length;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  for (let i = 0; i < n; i++) a.data[i] = Math.fround(0.02 * (perm[i] - (n - 1) / 2));
  return a;
}

/** Integers 0..3 with +-10 planted at random places: ties everywhere, and the first extreme may sit in a late chunk. */
function ties(shape: number[], seed: number, plant: number): R.Arr {
  const a = R.map(randArr(shape, seed, 0, 4), Math.floor);
  const r = rng(seed + 1);
  const plants = Math.max(1, Math.floor(a.data.length / 500));
  for (let i = 0; i < plants; i++) a.data[Math.floor(r() * a.data.length)] = plant;
  return a;
}

/** Run `fn` with `variant`'s chooser; false (and the test skipped) when it needs subgroups the device lacks. */
function using(v: Variant, skip: () => void): boolean {
  if (v.subgroups && !hasSubgroups()) {
    skip();
    return false;
  }
  setReduceChooser(v.chooser);
  return true;
}

async function gpuData(t: E.Tensor): Promise<number[]> {
  const d = [...(await t.data())];
  t.dispose();
  return d;
}

// [shape, axes]: size 1, every axis of an odd 3-D shape, all axes, non-adjacent axes, short middle axes, long rows
// (2^20 + 3), a long non-last axis, and ProbeX-like rows ([128 x 768] activations, [64 x 16384] flattened weights).
const SHAPES: [number[], Axes][] = [
  [[1], 0],
  [[1], undefined],
  [[1, 1], 0],
  [[1, 1], 1],
  [[1, 1], undefined],
  [[7, 33, 129], 0],
  [[7, 33, 129], 1],
  [[7, 33, 129], 2],
  [[7, 33, 129], undefined],
  [[7, 33, 129], [0, 2]],
  [[1000, 3, 17], 0],
  [[1000, 3, 17], 1],
  [[1000, 3, 17], 2],
  [[2, 2 ** 20 + 3], 1],
  [[2 ** 18 + 3, 4], 0],
  [[128, 768], -1],
  [[64, 16384], -1],
];

describe('reduction variants vs the float64 reference', () => {
  SHAPES.forEach(([shape, axes], si) => {
    const single = typeof axes === 'number' ? axes : null;
    // Inputs are built once per shape and shared by the variants.
    const seed = 1000 + 10 * si;
    const pos = randArr(shape, seed, 0, 1);
    const dist = distinct(shape, seed + 1);
    const sym = randArr(shape, seed + 2, -3, 3);
    const tiesMax = single === null ? null : ties(shape, seed + 3, 10);
    const tiesMin = single === null ? null : ties(shape, seed + 4, -10);
    const want = {
      sum: R.reduce(pos, axes, false, R.sumOf),
      max: R.reduce(dist, axes, false, maxOf),
      min: R.reduce(dist, axes, false, minOf),
      lse: R.reduce(sym, axes, true, lseOf),
      argmax: single === null ? null : R.reduce(dist, single, false, argmaxOf),
      argmin: single === null ? null : R.reduce(dist, single, false, argminOf),
      argmaxTies: tiesMax && single !== null ? R.reduce(tiesMax, single, false, argmaxOf) : null,
      argminTies: tiesMin && single !== null ? R.reduce(tiesMin, single, false, argminOf) : null,
      logSoftmax: single === null ? null : refLogSoftmax(sym, single),
    };
    for (const v of VARIANTS) {
      it(`${v.name}: ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`, async (ctx) => {
        if (!using(v, () => ctx.skip())) return;
        const what = `${v.name} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`;
        const p = toGpu(pos);
        expectClose(await gpuData(E.sum(p, axes)), want.sum.data, TOL.accumulate, `sum ${what}`);
        p.dispose();
        const d = toGpu(dist);
        // max, min, argmax and argmin are exact.
        expect(await gpuData(E.max(d, axes)), `max ${what}`).toEqual([...want.max.data]);
        expect(await gpuData(E.min(d, axes)), `min ${what}`).toEqual([...want.min.data]);
        if (single !== null) expect(await gpuData(E.argmax(d, single)), `argmax ${what}`).toEqual([...want.argmax!.data]);
        if (single !== null) expect(await gpuData(E.argmin(d, single)), `argmin ${what}`).toEqual([...want.argmin!.data]);
        d.dispose();
        if (single !== null) {
          const tm = toGpu(tiesMax!);
          expect(await gpuData(E.argmax(tm, single)), `argmax with ties ${what}`).toEqual([...want.argmaxTies!.data]);
          tm.dispose();
          const tn = toGpu(tiesMin!);
          expect(await gpuData(E.argmin(tn, single)), `argmin with ties ${what}`).toEqual([...want.argminTies!.data]);
          tn.dispose();
        }
        const s = toGpu(sym);
        expectClose(await gpuData(E.logsumexp(s, axes, true)), want.lse.data, TOL.forward, `logsumexp ${what}`);
        if (single !== null) {
          const ls = want.logSoftmax!;
          expectClose(await gpuData(E.logSoftmax(s, single)), ls.data, TOL.accumulate, `logSoftmax ${what}`);
          expectClose(await gpuData(E.softmax(s, single)), ls.data.map(Math.exp), TOL.relative, `softmax ${what}`);
        }
        s.dispose();
      });
    }
  });
});

describe('infinities under every variant', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: max, logsumexp, softmax of rows with infinities follow PyTorch`, async (ctx) => {
      if (!using(v, () => ctx.skip())) return;
      const inf = Infinity;
      const rows = [
        [inf, 1, 2, 3, 4, 5, 6, 7, 8],
        [-inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf, -inf],
        [-inf, 0, -inf, 1, -inf, 2, -inf, 3, -inf],
        [1, 2, 3, 4, 5, 6, 7, 8, inf],
      ];
      const x = E.tensor(rows);
      expect(await gpuData(E.max(x, 1))).toEqual([inf, -inf, 3, inf]);
      const lse = await gpuData(E.logsumexp(x, 1));
      expect(lse[0]).toBe(inf);
      expect(lse[1]).toBe(-inf);
      expectClose([lse[2]], [lseOf([0, 1, 2, 3])], TOL.forward, 'logsumexp with -inf entries');
      expect(lse[3]).toBe(inf);
      const sm = await gpuData(E.softmax(x, 1));
      // softmax([inf, finite...]) = [nan, 0...]; all -inf gives nan; -inf entries give 0.
      expect(Number.isNaN(sm[0])).toBe(true);
      expect(sm.slice(1, 9)).toEqual(new Array(8).fill(0));
      expect(sm.slice(9, 18).every(Number.isNaN)).toBe(true);
      expectClose(sm.slice(18, 27), [-inf, 0, -inf, 1, -inf, 2, -inf, 3, -inf].map((u) => Math.exp(u - lseOf([0, 1, 2, 3]))), TOL.forward, 'softmax with -inf entries');
      expect(await gpuData(E.argmax(x, 1))).toEqual([0, 0, 7, 8]);
      x.dispose();
    });
  }
});

describe('gradients of the fused softmax family under every variant', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: softmax, logSoftmax, logsumexp`, async (ctx) => {
      if (!using(v, () => ctx.skip())) return;
      const cases: [number[], number][] = [
        [[5, 37], 1],
        [[11, 3, 5], 0],
      ];
      for (const [[...shape], axis] of cases) {
        const x = randArr(shape, 77 + axis, -3, 3);
        await checkOp({ name: `softmax ${v.name}`, inputs: [x], gpu: (t) => E.softmax(t, axis), ref: (a) => R.map(refLogSoftmax(a, axis), Math.exp), fdSamples: 3 });
        await checkOp({ name: `logSoftmax ${v.name}`, inputs: [x], gpu: (t) => E.logSoftmax(t, axis), ref: (a) => refLogSoftmax(a, axis), fdSamples: 3 });
        await checkOp({ name: `logsumexp ${v.name}`, inputs: [x], gpu: (t) => E.logsumexp(t, axis), ref: (a) => R.reduce(a, axis, false, lseOf), fdSamples: 3 });
      }
    });
  }
});

describe('the default chooser', () => {
  it('plans per shape class', () => {
    const base = { family: 'reduce' as const, pass: 0, subgroups: true, software: false };
    // Many short rows: a thread each. Long rows, many of them: a subgroup workgroup each, no split.
    expect(defaultReducePlan({ ...base, outer: 70001, r: 3, inner: 1 })).toMatchObject({ kernel: 'thread', chunks: 1 });
    expect(defaultReducePlan({ ...base, outer: 4096, r: 4096, inner: 1 })).toEqual({ kernel: 'subgroup', wg: 256, chunks: 1 });
    expect(defaultReducePlan({ ...base, outer: 128, r: 768, inner: 1 })).toEqual({ kernel: 'subgroup', wg: 128, chunks: 1 });
    expect(defaultReducePlan({ ...base, subgroups: false, outer: 128, r: 768, inner: 1 }).kernel).toBe('tree');
    // One very long row: split over 1024 workgroups.
    expect(defaultReducePlan({ ...base, outer: 1, r: 2 ** 26, inner: 1 })).toEqual({ kernel: 'subgroup', wg: 256, chunks: 1024 });
    // A long non-last axis with few outputs: split; many outputs: one pass.
    expect(defaultReducePlan({ ...base, outer: 1, r: 70001, inner: 3 }).chunks).toBeGreaterThan(1);
    expect(defaultReducePlan({ ...base, outer: 4096, r: 4096, inner: 4096 })).toEqual({ kernel: 'thread', wg: 256, chunks: 1 });
    // Software adapters: a thread per output, long axes split to about 256 outputs.
    const cpu = { ...base, software: true };
    expect(defaultReducePlan({ ...cpu, outer: 4096, r: 4096, inner: 1 })).toEqual({ kernel: 'thread', wg: 64, chunks: 1 });
    expect(defaultReducePlan({ ...cpu, outer: 1, r: 2 ** 24, inner: 1 })).toEqual({ kernel: 'thread', wg: 64, chunks: 256 });
  });

  it('a long reduction takes several passes and frees its partials', async () => {
    const x = E.tensor(Float32Array.from({ length: 2 ** 20 + 3 }, (_, i) => (i % 7) - 3));
    const e = x.engine;
    const before = e.memory.bytesInUse;
    const d0 = e.counters.dispatches;
    const s = E.sum(x);
    expect(e.counters.dispatches - d0).toBe(2);
    expect(e.memory.bytesInUse - before).toBe(4);
    // Small integers: every partial sum is exact in f32.
    let want = 0;
    for (let i = 0; i < 2 ** 20 + 3; i++) want += (i % 7) - 3;
    expect(await s.item()).toBe(want);
    s.dispose();
    x.dispose();
  });
});

/** Records the name of every shader the engine runs until `restore()`. */
function recordShaders(e: typeof held.engine): { seen: string[]; restore: () => void } {
  const seen: string[] = [];
  const run = e.run.bind(e);
  e.run = (shader, args) => {
    seen.push(shader);
    run(shader, args);
  };
  return {
    seen,
    restore: () => {
      e.run = run;
    },
  };
}

describe('tuned choices', () => {
  it('the autotuner times every candidate once per class, records the fastest, and the reductions then use it', async () => {
    const e = held.engine;
    const table = emptyTuning();
    setTuning(e, table);
    try {
      const shapes = [
        { family: 'reduce' as const, outer: 37, r: 1000, inner: 1 },
        { family: 'softmax' as const, outer: 5, r: 3001, inner: 1 },
      ];
      const first = await autotuneReduce(e, shapes, { table, trials: 1 });
      for (const [i, r] of first.entries()) {
        const problem = { ...shapes[i], pass: 0, subgroups: hasSubgroups(), software: e.info.isSoftware };
        expect(r.cached).toBe(false);
        expect(r.key).toBe(reduceClassKey(problem));
        expect(Object.keys(r.ms).sort()).toEqual([...reduceCandidates(problem)].sort());
        expect(Object.values(r.ms).every((ms) => ms > 0)).toBe(true);
        expect(r.ms[r.variant]).toBe(Math.min(...Object.values(r.ms)));
        expect(table.adapters[adapterKey(e.info)].entries[r.key].variant).toBe(r.variant);
      }
      // Same classes again: answered from the table, nothing timed.
      const again = await autotuneReduce(e, [{ family: 'reduce', outer: 37, r: 1000, inner: 1 }], { table });
      expect(again[0]).toMatchObject({ cached: true, variant: first[0].variant, ms: {} });
      // The sum now runs the recorded variant's first pass, and still sums correctly.
      const plan = reduceVariantPlan(first[0].variant, { ...shapes[0], pass: 0, subgroups: hasSubgroups(), software: e.info.isSoftware })!;
      const { seen, restore } = recordShaders(e);
      try {
        const a = randArr([37, 1000], 8, 0, 1);
        const x = toGpu(a);
        const y = E.sum(x, 1);
        const kernel = { tree: 'reduce_rows', subgroup: 'reduce_rows_sg', thread: 'reduce_strided' }[plan.kernel];
        expect(seen[0]).toBe(kernel);
        expectClose(await y.data(), R.reduce(a, 1, false, (v) => v.reduce((p, q) => p + q, 0)).data, TOL.accumulate, 'sum with the tuned plan');
        x.dispose();
        y.dispose();
      } finally {
        restore();
      }
    } finally {
      setTuning(e, null);
    }
  });

  it('a tuning-table entry for a pass class overrides the heuristic; named variants parse', async () => {
    const e = held.engine;
    const problem = { family: 'reduce' as const, outer: 128, r: 768, inner: 1, pass: 0, subgroups: hasSubgroups(), software: e.info.isSoftware };
    expect(reduceCandidates(problem)).toContain('tree-64');
    expect(reduceVariantPlan('tree-64', problem)).toEqual({ kernel: 'tree', wg: 64, chunks: 1 });
    expect(reduceVariantPlan('thread-256-split', { ...problem, r: 4096 })).toEqual({ kernel: 'thread', wg: 256, chunks: 128 });
    expect(reduceVariantPlan('warp-32', problem)).toBeNull();
    const { seen, restore } = recordShaders(e);
    try {
      const x = toGpu(randArr([128, 768], 5, 0, 1));
      const table = emptyTuning();
      recordChoice(table, e.info, reduceClassKey(problem), { variant: 'tree-64', shape: { outer: 128, r: 768, inner: 1 }, ms: {}, tunedAt: '2025-01-01' });
      setTuning(e, table);
      const y = E.sum(x, 1);
      expect(seen).toEqual(['reduce_rows']);
      setTuning(e, null);
      const z = E.sum(x, 1);
      expect(seen[1]).toBe(e.info.isSoftware ? 'reduce_strided' : hasSubgroups() ? 'reduce_rows_sg' : 'reduce_rows');
      expectClose(await y.data(), await z.data(), TOL.accumulate, 'tuned vs default plan');
      x.dispose();
      y.dispose();
      z.dispose();
    } finally {
      restore();
      setTuning(e, null);
    }
  });
});
