// Every matmul kernel variant, forced one at a time, against the float64 reference: awkward shapes (1x1x1, primes,
// sizes off every tile), all four transpose combinations, batched and broadcast (incl. folded) ProbeX-like shapes,
// vec4-aligned shapes that reach the vec4 fast paths, and a long K for split-K. Then the choice machinery: heuristic,
// tuning table, autotuner and the Node tuning file. Forward only: backward goes through tests/ops-matmul.test.ts.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tidy } from '../src/node/index.ts';
import {
  MATMUL_VARIANTS,
  availableMatmulVariants,
  chooseMatmulVariant,
  defaultMatmulVariant,
  matmulBiasK,
  matmulK,
  planMatmul,
  type MatmulVariant,
} from '../src/core/prims/matmul.ts';
import { adapterKey, emptyTuning, matmulClassKey, recordChoice, setTuning, getTuning, validateTuning } from '../src/core/tune/table.ts';
import { autotuneMatmul } from '../src/core/tune/autotune.ts';
import { loadTuning, readTuningFile, writeTuningFile } from '../src/node/tuning.ts';
import { useEngine } from './support/engine.ts';
import { expectClose, randArr, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';
import { TOL } from './support/tolerances.ts';

const ctx = useEngine();

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
const label = (ta: boolean, tb: boolean): string => `${ta ? 'A^T' : 'A'} ${tb ? 'B^T' : 'B'}`;

interface Case {
  /** Batch dims of A and of B, then m, k, n. */
  batchA: number[];
  batchB: number[];
  mkn: [number, number, number];
  /** Split-K chunks to force (splitk only). */
  splits?: number;
}

const c2 = (m: number, k: number, n: number, splits?: number): Case => ({ batchA: [], batchB: [], mkn: [m, k, n], splits });

// Awkward 2-D shapes: a single element, primes off every tile and quad, a tall thin output.
const AWKWARD: Case[] = [c2(1, 1, 1), c2(7, 33, 129), c2(1000, 3, 17)];
// Multiples of 4 with interior tiles and edges, so every vec4 fast path runs next to its checked edge copy; the last
// has M and K multiples of 4 but not of 8 and a prime N (the transposed operands' vec4 paths with clamped quads).
const ALIGNED: Case[] = [c2(17, 12, 520), c2(136, 36, 260), c2(12, 20, 131)];
// Scaled-down ProbeX shapes: a batch of matrices against one shared B (folded into M when A is not transposed),
// both batched, and broadcast over several batch dims.
const BATCHED: Case[] = [
  { batchA: [4], batchB: [], mkn: [48, 96, 16] },
  { batchA: [3], batchB: [3], mkn: [20, 36, 12] },
  { batchA: [2, 1], batchB: [3], mkn: [5, 7, 6] },
  { batchA: [], batchB: [4], mkn: [9, 13, 5] },
];
// Long K with a small output: the split-K shape class (default chunking), plus forced chunk counts on a short K.
const LONG_K: Case[] = [c2(5, 4099, 3), { batchA: [2], batchB: [2], mkn: [3, 4099, 6] }, c2(7, 33, 129, 3), c2(9, 50, 10, 50)];

// The ProbeX shapes at their real m, k and n, batches cut to 2 (a batch only offsets each matrix): the batched probe
// responses [128 x 768 x 768] x [768 x 128] and [128 x 128 x 768] x [768 x 128], the long-K [128 x 16384] x
// [16384 x 128], the backward forms of each (dA = dC B^T, dB = A^T dC), and the probe gradient's K = 98,304
// ([768 x 98304] x [98304 x 128] with 8 of its 768 rows).
const PROBEX: { c: Case; ta: boolean; tb: boolean }[] = [
  { c: { batchA: [2], batchB: [], mkn: [768, 768, 128] }, ta: false, tb: false },
  { c: { batchA: [2], batchB: [], mkn: [768, 128, 768] }, ta: false, tb: true },
  { c: { batchA: [2], batchB: [2], mkn: [768, 768, 128] }, ta: true, tb: false },
  { c: { batchA: [2], batchB: [], mkn: [128, 768, 128] }, ta: false, tb: false },
  { c: { batchA: [2], batchB: [], mkn: [128, 128, 768] }, ta: false, tb: true },
  { c: c2(128, 16384, 128), ta: false, tb: false },
  { c: c2(128, 128, 16384), ta: false, tb: true },
  { c: c2(16384, 128, 128), ta: true, tb: false },
  { c: c2(8, 98304, 128), ta: false, tb: false },
];
const probexRefs = new Map<number, { a: R.Arr; b: R.Arr; want: R.Arr }>();

async function checkProbex(variant: MatmulVariant, i: number): Promise<void> {
  const { c, ta, tb } = PROBEX[i];
  const [m, k, n] = c.mkn;
  if (!probexRefs.has(i)) {
    const a = randArr([...c.batchA, ...(ta ? [k, m] : [m, k])], 500 + i);
    const b = randArr([...c.batchB, ...(tb ? [n, k] : [k, n])], 600 + i);
    probexRefs.set(i, { a, b, want: R.matmul(a, b, ta, tb) });
  }
  const { a, b, want } = probexRefs.get(i)!;
  const y = tidy(() => matmulK(toGpu(a), toGpu(b), ta, tb, { variant }));
  const got = await y.data();
  y.dispose();
  expect([...y.shape]).toEqual(want.shape);
  expectClose(got, want.data, TOL.accumulateK(k), `${variant} ${label(ta, tb)} [${[...c.batchA, ...(ta ? [k, m] : [m, k])]}] x [${[...c.batchB, ...(tb ? [n, k] : [k, n])]}]`);
}

async function check(variant: MatmulVariant, c: Case, ta: boolean, tb: boolean, seed: number): Promise<void> {
  const [m, k, n] = c.mkn;
  const a = randArr([...c.batchA, ...(ta ? [k, m] : [m, k])], seed);
  const b = randArr([...c.batchB, ...(tb ? [n, k] : [k, n])], seed + 1);
  const y = tidy(() => matmulK(toGpu(a), toGpu(b), ta, tb, { variant, splits: c.splits }));
  const got = await y.data();
  y.dispose();
  const want = R.matmul(a, b, ta, tb);
  expect([...y.shape]).toEqual(want.shape);
  const what = `${variant} ${label(ta, tb)} [${[...c.batchA, m, k]}] x [${[...c.batchB, k, n]}]`;
  expectClose(got, want.data, TOL.accumulate, what);
}

// A bias fused into the kernel's store: one [n] vector (stride 0) or one per output batch entry (stride n), on
// shapes off the tiles, a split-K shape, and a batch run in slices (the bias index follows the slice's offset).
const BIASED: (Case & { bias: number[] })[] = [
  { ...c2(7, 33, 129), bias: [129] },
  { ...c2(1, 1, 1), bias: [1] },
  { batchA: [3], batchB: [3], mkn: [20, 36, 12], bias: [3, 12] },
  { batchA: [3], batchB: [3], mkn: [20, 36, 12], bias: [12] },
  { batchA: [2, 1], batchB: [3], mkn: [5, 7, 6], bias: [2, 3, 6] },
  { batchA: [4], batchB: [], mkn: [48, 96, 16], bias: [16] },
  { ...c2(5, 4099, 3), bias: [3] },
  { batchA: [2], batchB: [2], mkn: [3, 4099, 6], bias: [2, 6] },
];

async function checkBias(variant: MatmulVariant, c: Case & { bias: number[] }, ta: boolean, tb: boolean, seed: number): Promise<void> {
  const [m, k, n] = c.mkn;
  const a = randArr([...c.batchA, ...(ta ? [k, m] : [m, k])], seed);
  const b = randArr([...c.batchB, ...(tb ? [n, k] : [k, n])], seed + 1);
  const bias = randArr(c.bias, seed + 2);
  const y = tidy(() => matmulBiasK(toGpu(a), toGpu(b), toGpu(bias), ta, tb, { variant }));
  const got = await y.data();
  y.dispose();
  const want = R.zipN([R.matmul(a, b, ta, tb), R.reshape(bias, [...c.bias.slice(0, -1), 1, n])], (u, v) => u + v);
  expect([...y.shape]).toEqual(want.shape);
  expectClose(got, want.data, TOL.accumulateK(k), `${variant} ${label(ta, tb)} [${[...c.batchA, m, k]}] x [${[...c.batchB, k, n]}] + bias [${c.bias}]`);
}

describe('matmul variants against the float64 reference', () => {
  for (const variant of MATMUL_VARIANTS) {
    describe(variant, () => {
      const skip = (): boolean => !availableMatmulVariants(ctx.engine).includes(variant);
      it('awkward 2-D shapes, all transposes', async (t) => {
        if (skip()) t.skip();
        for (const [i, [ta, tb]] of COMBOS.entries()) for (const c of AWKWARD) await check(variant, c, ta, tb, 10 * i + 1);
      });
      it('vec4-aligned shapes with interior and edge tiles, all transposes', async (t) => {
        if (skip()) t.skip();
        for (const [i, [ta, tb]] of COMBOS.entries()) for (const c of ALIGNED) await check(variant, c, ta, tb, 10 * i + 2);
      });
      it('batched and broadcast (ProbeX-like), all transposes', async (t) => {
        if (skip()) t.skip();
        for (const [i, [ta, tb]] of COMBOS.entries()) for (const c of BATCHED) await check(variant, c, ta, tb, 10 * i + 3);
      });
      it('the ProbeX shapes and their backward forms (m, k, n as in ProbeX)', async (t) => {
        if (skip()) t.skip();
        for (let i = 0; i < PROBEX.length; i++) await checkProbex(variant, i);
      }, 120_000);
      it('a batch longer than the grid allows (65,553 > 65,535), run in slices', async (t) => {
        if (skip()) t.skip();
        const c: Case = { batchA: [3, 21851], batchB: [21851], mkn: [2, 3, 2] };
        if (variant === 'splitk') {
          const a = toGpu(randArr([...c.batchA, 2, 3], 40));
          const b = toGpu(randArr([...c.batchB, 3, 2], 41));
          expect(() => matmulK(a, b, false, false, { variant })).toThrow(/"splitk" cannot run a batch of 65553/);
          a.dispose();
          b.dispose();
          return;
        }
        for (const [i, [ta, tb]] of [COMBOS[0], COMBOS[3]].entries()) await check(variant, c, ta, tb, 40 + i);
      });
      it('a bias fused into the store, shared and per batch entry, all transposes', async (t) => {
        if (skip()) t.skip();
        for (const [i, [ta, tb]] of COMBOS.entries()) for (const c of BIASED) await checkBias(variant, c, ta, tb, 10 * i + 5);
        if (variant === 'splitk') return;
        // 65,553 batch entries, each with its own bias, across two launches.
        await checkBias(variant, { batchA: [3, 21851], batchB: [21851], mkn: [2, 3, 2], bias: [3, 21851, 2] }, false, true, 45);
      });
      it('long K (4099) with a small output', async (t) => {
        if (skip()) t.skip();
        const cases = variant === 'splitk' ? LONG_K : LONG_K.filter((c) => c.splits === undefined);
        for (const [i, [ta, tb]] of COMBOS.entries()) for (const c of cases) await check(variant, c, ta, tb, 10 * i + 4);
      });
    });
  }

  it('reports the subgroup variant as unavailable exactly when the device lacks the feature', () => {
    const has = ctx.engine.device.features.has('subgroups');
    expect(availableMatmulVariants(ctx.engine).includes('subgroup')).toBe(has);
    if (!has) expect(() => chooseMatmulVariant(planMatmul([2, 2], [2, 2], false, false), ctx.engine, 'subgroup')).toThrow(/not available/);
  });
});

describe('choosing a variant', () => {
  it('folds a batch against a shared B into M, and only then', () => {
    expect(planMatmul([128, 48, 96], [96, 16], false, false)).toMatchObject({ m: 128 * 48, batch: 1, folded: true, outShape: [128, 48, 16] });
    expect(planMatmul([128, 48, 96], [16, 96], false, true).folded).toBe(true);
    expect(planMatmul([128, 96, 48], [96, 16], true, false).folded).toBe(false);
    expect(planMatmul([4, 48, 96], [4, 96, 16], false, false).folded).toBe(false);
    expect(planMatmul([1, 48, 96], [3, 96, 16], false, false).folded).toBe(false);
  });

  it('default heuristic: split-K for long K and a tiny output, register kernels on a software adapter', () => {
    const e = ctx.engine;
    expect(defaultMatmulVariant(planMatmul([5, 4099], [4099, 3], false, false), e)).toBe('splitk');
    expect(defaultMatmulVariant(planMatmul([2, 4, 4099], [2, 4099, 8], false, false), e)).toBe('splitk');
    // 32 output tiles fill a software adapter's cores but not a GPU.
    const probex = defaultMatmulVariant(planMatmul([128, 16384], [16384, 128], false, false), e);
    expect(probex === 'splitk').toBe(!e.info.isSoftware);
    const square = defaultMatmulVariant(planMatmul([512, 512], [512, 512], false, false), e);
    expect(square).not.toBe('splitk');
    if (e.info.isSoftware) {
      expect(square).toBe(e.device.features.has('subgroups') ? 'subgroup' : 'reg8x8');
      expect(defaultMatmulVariant(planMatmul([1000, 3], [3, 17], false, false), e)).toBe('reg4x4');
    }
  });

  it('uses a tuned choice for the shape class on this adapter, and drops back to the heuristic without one', async () => {
    const e = ctx.engine;
    const p = planMatmul([30, 20], [20, 40], false, false);
    const key = matmulClassKey({ batch: p.batch, m: p.m, n: p.n, k: p.k, transA: false, transB: false });
    const table = emptyTuning();
    recordChoice(table, e.info, key, { variant: 'naive', shape: { batch: 1, m: 30, n: 40, k: 20 }, ms: { naive: 1 }, tunedAt: 'test' });
    recordChoice(table, { ...e.info, description: 'another adapter' }, key, { variant: 'tiled', shape: {}, ms: {}, tunedAt: 'test' });
    setTuning(e, table);
    try {
      expect(chooseMatmulVariant(p, e)).toBe('naive');
      // Same class (sizes 17..32 x 17..32 x 33..64), same choice; another class falls back to the heuristic.
      expect(chooseMatmulVariant(planMatmul([17, 31], [31, 64], false, false), e)).toBe('naive');
      expect(chooseMatmulVariant(planMatmul([30, 20], [40, 20], false, true), e)).toBe(defaultMatmulVariant(planMatmul([30, 20], [40, 20], false, true), e));
      await check('naive', c2(30, 20, 40), false, false, 5);
    } finally {
      setTuning(e, null);
    }
    expect(chooseMatmulVariant(p, e)).toBe(defaultMatmulVariant(p, e));
  });

  it('rejects a malformed tuning table', () => {
    expect(() => validateTuning({ format: 'other', adapters: {} })).toThrow(/format/);
    expect(() => validateTuning({ format: 'probex-tuning/1', adapters: { x: { entries: { k: {} } } } })).toThrow(/variant/);
  });

  it('autotunes a shape class once, records the fastest, and keeps it in a JSON file', async () => {
    const e = ctx.engine;
    const dir = mkdtempSync(join(tmpdir(), 'probex-tuning-'));
    try {
      const table = emptyTuning();
      const variants: MatmulVariant[] = ['reg4x4', 'reg8x8', 'tiled'];
      const [r] = await autotuneMatmul(e, [{ a: [64, 48], b: [48, 80] }], { table, variants, reps: 2, trials: 2, prune: Infinity });
      expect(variants).toContain(r.variant);
      expect(Object.keys(r.ms).sort()).toEqual([...variants].sort());
      expect(r.variant).toBe(Object.entries(r.ms).sort((x, y) => x[1] - y[1])[0][0]);
      expect(table.adapters[adapterKey(e.info)].entries[r.key].variant).toBe(r.variant);
      // A second run finds the class already tuned and times nothing.
      const [again] = await autotuneMatmul(e, [{ a: [60, 40], b: [40, 70] }], { table, variants, reps: 2, trials: 2 });
      expect(again).toMatchObject({ key: r.key, variant: r.variant, cached: true });

      const file = join(dir, 'tuning.json');
      writeTuningFile(file, table);
      expect(readTuningFile(file)).toEqual(table);
      expect(readTuningFile(join(dir, 'missing.json'))).toEqual(emptyTuning());
      loadTuning(e, file);
      expect(getTuning(e)).toEqual(table);
      expect(chooseMatmulVariant(planMatmul([64, 48], [48, 80], false, false), e)).toBe(r.variant);
    } finally {
      setTuning(e, null);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
