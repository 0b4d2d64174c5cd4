// Reductions: sum, mean, max, min, logsumexp, variance over any axes (first, middle, last, non-adjacent, all, none,
// negative), keepdims or not, and the single-axis ops softmax, logSoftmax, argmax, argmin; forward and backward against
// the float64 reference and finite differences, on sizes 1, primes and rows longer than the 256-thread workgroup.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, expectClose, randArr, rng, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';
import { TOL } from './support/tolerances.ts';

useEngine();

type Axes = number | number[] | undefined;

const maxOf = (v: number[]): number => v.reduce((a, b) => (b > a ? b : a), -Infinity);
const minOf = (v: number[]): number => v.reduce((a, b) => (b < a ? b : a), Infinity);
const lseOf = (v: number[]): number => {
  const m = maxOf(v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
const meanOf = (v: number[]): number => R.sumOf(v) / v.length;

function refVariance(x: R.Arr, axes: Axes, keepdims: boolean, correction: number): R.Arr {
  const mu = R.reduce(x, axes, true, meanOf);
  const d2 = R.zip(x, mu, (u, m) => (u - m) ** 2);
  const count = x.data.length / mu.data.length;
  return R.reduce(d2, axes, keepdims, (v) => R.sumOf(v) / (count - correction));
}

/** log_softmax along one axis, in float64: x - logsumexp(x) with the logsumexp broadcast back. */
function refLogSoftmax(x: R.Arr, axis: number): R.Arr {
  return R.zip(x, R.reduce(x, axis, true, lseOf), (u, l) => u - l);
}

/**
 * A random permutation of the grid 0.02 k, centred on 0: every pair of elements is at least 0.02 apart, so max/min
 * have no near-ties at the scale of the float64 reference step (the f32 finite-difference checker skips coordinates
 * whose step would cross a tie, judged on the reference).
 */
function distinct(shape: number[], seed: number): R.Arr {
  const a = R.arr(shape);
  const n = a.data.length;
  const perm = Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  for (let i = 0; i < n; i++) a.data[i] = Math.fround(0.02 * (perm[i] - (n - 1) / 2));
  return a;
}

type Reduction = {
  name: string;
  gpu: (x: E.Tensor, axes: Axes, keepdims: boolean) => E.Tensor;
  ref: (x: R.Arr, axes: Axes, keepdims: boolean) => R.Arr;
  /** Inputs with all values distinct (no near-ties for max/min). */
  distinct?: boolean;
  low?: number;
  high?: number;
};

const REDUCTIONS: Reduction[] = [
  { name: 'sum', gpu: E.sum, ref: (x, a, k) => R.reduce(x, a, k, R.sumOf) },
  { name: 'mean', gpu: E.mean, ref: (x, a, k) => R.reduce(x, a, k, meanOf) },
  { name: 'max', gpu: E.max, ref: (x, a, k) => R.reduce(x, a, k, maxOf), distinct: true },
  { name: 'min', gpu: E.min, ref: (x, a, k) => R.reduce(x, a, k, minOf), distinct: true },
  { name: 'logsumexp', gpu: E.logsumexp, ref: (x, a, k) => R.reduce(x, a, k, lseOf), low: -3, high: 3 },
  { name: 'variance', gpu: (x, a, k) => E.variance(x, a, k), ref: (x, a, k) => refVariance(x, a, k, 0) },
  { name: 'variance unbiased', gpu: (x, a, k) => E.variance(x, a, k, 1), ref: (x, a, k) => refVariance(x, a, k, 1) },
];

// [shape, axes, keepdims]: first, middle, last, non-adjacent, negative and unsorted, all (undefined), none ([]),
// size-1 axes, rows longer than the workgroup (513 = 2 * 256 + 1) and strided reductions over 300 elements.
const CASES: [number[], Axes, boolean][] = [
  [[1], undefined, false],
  [[7], 0, true],
  [[13], -1, false],
  [[129], undefined, true],
  [[33, 13], 0, false],
  [[33, 13], -1, true],
  [[7, 13, 5], 1, false],
  [[7, 13, 5], [0, 2], true],
  [[7, 13, 5], [2, -3], false],
  [[7, 13, 5], undefined, true],
  [[33, 129], 1, false],
  [[13, 33, 7], [0, 2], false],
  [[3, 7, 2, 5], [1, 2], false],
  [[3, 7, 2, 5], [0, 2, 3], true],
  [[5, 1, 7], 1, false],
  [[7, 13], [], false],
  [[2, 513], 1, false],
  [[300, 3], 0, true],
];

describe('reductions over axes', () => {
  for (const op of REDUCTIONS) {
    CASES.forEach(([shape, axes, keepdims], i) => {
      // Unbiased variance needs two or more elements per output.
      if (op.name === 'variance unbiased' && R.size(shape) / R.size(R.reduce(R.arr(shape), axes, true, () => 0).shape) < 2) return;
      it(`${op.name} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}${keepdims ? ' keepdims' : ''}`, async () => {
        const seed = 100 + i;
        await checkOp({
          name: op.name,
          inputs: [op.distinct ? distinct(shape, seed) : randArr(shape, seed, op.low ?? -2, op.high ?? 2)],
          gpu: (x) => op.gpu(x, axes, keepdims),
          ref: (x) => op.ref(x, axes, keepdims),
        });
      });
    });
  }
});

describe('softmax and logSoftmax', () => {
  const AXIS_CASES: [number[], number][] = [
    [[1], 0],
    [[13], -1],
    [[7, 13, 5], 0],
    [[7, 13, 5], 1],
    [[7, 13, 5], -1],
    [[2, 513], 1],
    [[300, 3], 0],
  ];
  AXIS_CASES.forEach(([shape, axis], i) => {
    it(`softmax ${JSON.stringify(shape)} axis ${axis}`, async () => {
      await checkOp({
        name: 'softmax',
        inputs: [randArr(shape, 200 + i, -3, 3)],
        gpu: (x) => E.softmax(x, axis),
        ref: (x) => R.map(refLogSoftmax(x, axis), Math.exp),
      });
    });
    it(`logSoftmax ${JSON.stringify(shape)} axis ${axis}`, async () => {
      await checkOp({
        name: 'logSoftmax',
        inputs: [randArr(shape, 300 + i, -3, 3)],
        gpu: (x) => E.logSoftmax(x, axis),
        ref: (x) => refLogSoftmax(x, axis),
      });
    });
  });

  it('softmax and logSoftmax default to the last axis', async () => {
    const x = randArr([3, 4, 5], 7, -3, 3);
    await checkOp({ name: 'softmax', inputs: [x], gpu: (t) => E.softmax(t), ref: (a) => R.map(refLogSoftmax(a, 2), Math.exp), grad: [false] });
    await checkOp({ name: 'logSoftmax', inputs: [x], gpu: (t) => E.logSoftmax(t), ref: (a) => refLogSoftmax(a, 2), grad: [false] });
  });
});

/** Layer norm over the last axis in float64: (x - mean) / sqrt(biased var + eps). */
function refLayerNorm(x: R.Arr, eps: number): R.Arr {
  const last = x.shape.length - 1;
  const mu = R.reduce(x, last, true, (v) => v.reduce((a, b) => a + b, 0) / v.length);
  const d = R.zip(x, mu, (a, m) => a - m);
  const v = R.reduce(d, last, true, (c) => c.reduce((a, b) => a + b * b, 0) / c.length);
  return R.zip(d, v, (c, s) => c / Math.sqrt(s + eps));
}

describe('layerNorm (last axis, fused)', () => {
  // Rows of 1 (all zero, zero gradient), 3, primes, a long row, leading axes of 1, and more rows (131) than one
  // 64-thread workgroup (one thread per row).
  const SHAPES: number[][] = [[4, 1], [6, 3], [7, 33], [1, 129], [3, 1, 5], [2, 3, 5, 7], [2, 300], [131, 5]];
  SHAPES.forEach((shape, i) => {
    for (const eps of [1e-5, 1e-6]) {
      it(`${JSON.stringify(shape)} eps ${eps}`, async () => {
        await checkOp({ name: 'layerNorm', inputs: [randArr(shape, 400 + i, -2, 2)], gpu: (x) => E.layerNorm(x, eps), ref: (x) => refLayerNorm(x, eps) });
      });
    }
  });

  it('keeps precision on rows whose mean is far above their spread (two-pass variance)', async () => {
    // Values 1000 +- 1: a one-pass E[x^2] - E[x]^2 in f32 loses the variance (~0.33) to rounding of ~1e6 (error ~0.06,
    // ~20% of the output); two passes err by about the rounding of the mean over sigma, ~1e-4. Tolerance 1e-3.
    const x = randArr([67, 9], 15, 999, 1001);
    expectClose(await E.layerNorm(toGpu(x), 1e-5).data(), refLayerNorm(x, 1e-5).data, { rtol: 1e-3, atol: 1e-3 }, 'layerNorm at mean 1000');
  });

  it('matches the composite of mean, variance and divide, and rejects bad input', async () => {
    const x = toGpu(randArr([5, 17], 9, -3, 3));
    const fused = await E.layerNorm(x, 1e-6).data();
    const mu = E.mean(x, -1, true);
    const composite = await E.div(E.sub(x, mu), E.sqrt(E.add(E.variance(x, -1, true), 1e-6))).data();
    expectClose(fused, composite, TOL.forward, 'fused vs composite layerNorm');
    expect(() => E.layerNorm(x, -1)).toThrow(/layerNorm: eps must be a number >= 0, got -1/);
    expect(() => E.layerNorm(E.tensor(Int32Array.from([1, 2]), [2], 'i32'))).toThrow(/layerNorm: expects an f32 tensor, got i32/);
    expect(() => E.layerNorm(E.tensor(1))).toThrow(/layerNorm: needs at least one axis/);
  });
});

describe('layerNorm with weight and bias (fused affine part)', () => {
  // [input, weight / bias]: shared over every row; one row per leading index (stacked models, as the zoo's ViT);
  // two leading axes; a row of 1; a row longer than the workgroup.
  const CASES: [number[], number[]][] = [
    [[6, 7], [7]],
    [[3, 4, 5, 7], [3, 7]],
    [[2, 3, 5, 7], [2, 3, 7]],
    [[5, 1], [5, 1]],
    [[2, 300], [300]],
    [[1, 2, 33], [1, 33]],
    // 135 rows over three workgroups, weight groups of 45 rows that cross their boundaries.
    [[3, 45, 7], [3, 7]],
  ];
  CASES.forEach(([shape, wshape], i) => {
    it(`${JSON.stringify(shape)} with weight and bias ${JSON.stringify(wshape)}`, async () => {
      const view = [...wshape.slice(0, -1), ...new Array<number>(shape.length - wshape.length).fill(1), wshape[wshape.length - 1]];
      await checkOp({
        name: 'layerNorm affine',
        inputs: [randArr(shape, 420 + i, -2, 2), randArr(wshape, 430 + i, -2, 2), randArr(wshape, 440 + i, -1, 1)],
        gpu: (x, w, b) => E.layerNorm(x, 1e-6, { weight: w, bias: b }),
        ref: (x, w, b) => R.zipN([refLayerNorm(x, 1e-6), R.reshape(w, view), R.reshape(b, view)], (u, ww, bb) => u * ww + bb),
      });
    });
  });

  it('matches the plain layerNorm followed by mul and add, and rejects bad weights', async () => {
    const x = toGpu(randArr([3, 4, 9], 11, -3, 3));
    const w = toGpu(randArr([3, 9], 12, -2, 2));
    const b = toGpu(randArr([3, 9], 13, -2, 2));
    const fused = await E.layerNorm(x, 1e-6, { weight: w, bias: b }).data();
    const composite = await E.add(E.mul(E.layerNorm(x, 1e-6), E.reshape(w, [3, 1, 9])), E.reshape(b, [3, 1, 9])).data();
    expectClose(fused, composite, TOL.forward, 'fused vs composite affine layerNorm');
    expect(() => E.layerNorm(x, 1e-6, { weight: w })).toThrow(/layerNorm: give both weight and bias, or neither/);
    expect(() => E.layerNorm(x, 1e-6, { weight: toGpu(randArr([4, 9], 1)), bias: b })).toThrow(
      /layerNorm: weight f32 \[4, 9\] must be f32 \[\.\.\., 9\] whose leading axes are the first of the input's \[3, 4, 9\]/,
    );
    expect(() => E.layerNorm(x, 1e-6, { weight: w, bias: toGpu(randArr([8], 1)) })).toThrow(/layerNorm: bias f32 \[8\] must be/);
    expect(() => E.layerNorm(x, 1e-6, { weight: w, bias: toGpu(randArr([9], 1)) })).toThrow(/layerNorm: weight \[3, 9\] and bias \[9\] differ/);
  });
});

describe('max and min ties', () => {
  it('split the gradient evenly among tied extremes, as PyTorch does', async () => {
    const data = [
      [1, 3, 3, 0],
      [2, 2, 2, -1],
      [5, 4, 0, 0],
    ];
    const third = Math.fround(1 / 3);
    const cases: [string, (x: E.Tensor) => E.Tensor, number[]][] = [
      ['max axis 1', (x) => E.max(x, 1), [0, 0.5, 0.5, 0, third, third, third, 0, 1, 0, 0, 0]],
      ['min axis 1', (x) => E.min(x, -1), [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0.5, 0.5]],
      ['max axis 0', (x) => E.max(x, 0), [0, 0, 1, 0.5, 0, 0, 0, 0, 1, 1, 0, 0.5]],
      ['max over all', (x) => E.max(x), [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]],
      ['min over all', (x) => E.min(x, undefined, true), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]],
    ];
    for (const [what, f, want] of cases) {
      const x = E.tensor(data);
      x.requiresGrad = true;
      E.backward(E.sum(f(x)));
      expect([...(await x.grad!.data())], what).toEqual(want);
      x.dispose();
    }
    // All equal over every axis: each of the 12 elements gets 1/12 of the gradient.
    const x = E.full([3, 4], 2);
    x.requiresGrad = true;
    E.backward(E.mul(E.max(x), 6));
    expectClose(await x.grad!.data(), new Array(12).fill(0.5), TOL.forward, 'max of equal elements');
  });
});

describe('argmax and argmin', () => {
  const firstIndex =
    (better: (u: number, v: number) => boolean) =>
    (v: number[]): number => {
      let best = 0;
      for (let k = 1; k < v.length; k++) if (better(v[k], v[best])) best = k;
      return best;
    };
  const OPS: [string, typeof E.argmax, (v: number[]) => number][] = [
    ['argmax', E.argmax, firstIndex((u, v) => u > v)],
    ['argmin', E.argmin, firstIndex((u, v) => u < v)],
  ];
  const ARG_CASES: [number[], number, boolean][] = [
    [[1], 0, false],
    [[7], 0, true],
    [[33, 13], 0, false],
    [[33, 13], -1, false],
    [[7, 13, 5], 1, true],
    [[7, 13, 5], -3, false],
    [[2, 513], 1, false],
    [[300, 3], 0, true],
  ];
  for (const [name, gpu, ref] of OPS) {
    ARG_CASES.forEach(([shape, axis, keepdims], i) => {
      it(`${name} ${JSON.stringify(shape)} axis ${axis}${keepdims ? ' keepdims' : ''}, with many ties`, async () => {
        // Integers 0..3: every row has ties, and the first index must win.
        const x = R.map(randArr(shape, 400 + i, 0, 4), Math.floor);
        await checkOp({ name, inputs: [x], gpu: (t) => gpu(t, axis, keepdims), ref: (a) => R.reduce(a, axis, keepdims, ref), grad: [false] });
        // Distinct values too.
        const y = randArr(shape, 500 + i);
        await checkOp({ name, inputs: [y], gpu: (t) => gpu(t, axis, keepdims), ref: (a) => R.reduce(a, axis, keepdims, ref), grad: [false] });
      });
    });
  }

  it('pick the first index on explicit ties, default to the last axis, give i32 and no gradient', async () => {
    const x = E.tensor([
      [1, 3, 3, 0],
      [2, 2, 2, 2],
      [0, -1, 5, -1],
    ]);
    x.requiresGrad = true;
    const am = E.argmax(x);
    const an = E.argmin(x);
    expect(am.dtype).toBe('i32');
    expect(an.dtype).toBe('i32');
    expect([...am.shape]).toEqual([3]);
    expect([...(await am.data())]).toEqual([1, 0, 2]);
    expect([...(await an.data())]).toEqual([3, 0, 1]);
    expect([...(await E.argmax(x, 0).data())]).toEqual([1, 0, 2, 1]);
    expect([...(await E.argmin(x, 0, true).data())]).toEqual([2, 2, 1, 2]);
    expect(am.requiresGrad).toBe(false);
    expect(an.requiresGrad).toBe(false);
    expect(am.node).toBeNull();
  });
});

describe('large inputs', () => {
  // x ~ +-1000: exp(x) overflows (or underflows to 0) in f32, so only the shifted forms stay finite. logsumexp is
  // checked after subtracting the shift, otherwise the relative tolerance on ~1000 would hide errors of ~0.1.
  for (const shift of [1000, -1000]) {
    const x = R.map(randArr([7, 33], 600 + shift, -5, 5), (v) => Math.fround(v + shift));

    it(`logsumexp, softmax, logSoftmax stay finite and correct around ${shift}`, async () => {
      await checkOp({
        name: `logsumexp - ${shift}`,
        inputs: [x],
        gpu: (t) => E.sub(E.logsumexp(t, 1), shift),
        ref: (a) => R.map(R.reduce(a, 1, false, lseOf), (v) => v - shift),
        grad: [false],
      });
      await checkOp({ name: 'logsumexp', inputs: [x], gpu: (t) => E.logsumexp(t, [0, 1], true), ref: (a) => R.reduce(a, undefined, true, lseOf), grad: [false] });
      await checkOp({ name: 'softmax', inputs: [x], gpu: (t) => E.softmax(t, 1), ref: (a) => R.map(refLogSoftmax(a, 1), Math.exp), grad: [false] });
      await checkOp({ name: 'softmax axis 0', inputs: [x], gpu: (t) => E.softmax(t, 0), ref: (a) => R.map(refLogSoftmax(a, 0), Math.exp), grad: [false] });
      await checkOp({ name: 'logSoftmax', inputs: [x], gpu: (t) => E.logSoftmax(t, 1), ref: (a) => refLogSoftmax(a, 1), grad: [false] });
    });

    it(`logsumexp, softmax, logSoftmax gradients stay finite and correct around ${shift}`, async () => {
      // Finite differences with a step relative to |x| ~ 1000 are meaningless here, so the gradients are checked
      // against their closed forms in float64: d lse = w p, d softmax = p (w - sum(w p)), d logSoftmax = w - p sum(w).
      const p = R.map(refLogSoftmax(x, 1), Math.exp);
      const wRow = randArr([7], 7);
      const wFull = randArr([7, 33], 8);
      const wpSum = R.reduce(R.zip(wFull, p, (u, v) => u * v), 1, true, R.sumOf);
      const wSum = R.reduce(wFull, 1, true, R.sumOf);
      const cases: [string, (t: E.Tensor) => E.Tensor, R.Arr, R.Arr][] = [
        ['logsumexp', (t) => E.logsumexp(t, 1), wRow, R.zip(p, R.reshape(wRow, [7, 1]), (u, v) => u * v)],
        ['softmax', (t) => E.softmax(t, 1), wFull, R.zipN([p, wFull, wpSum], (u, v, s) => u * (v - s))],
        ['logSoftmax', (t) => E.logSoftmax(t, 1), wFull, R.zipN([p, wFull, wSum], (u, v, s) => v - u * s)],
      ];
      for (const [name, f, w, want] of cases) {
        const t = toGpu(x);
        t.requiresGrad = true;
        E.backward(E.sum(E.mul(f(t), toGpu(w))));
        const got = await t.grad!.data();
        expect(got.every(Number.isFinite), `${name}: finite gradient`).toBe(true);
        expectClose(got, want.data, TOL.grad, `${name} gradient around ${shift}`);
        t.dispose();
      }
    });
  }

  it('softmax of a row spanning +-1000 is one-hot', async () => {
    const y = await E.softmax(E.tensor([1000, 0, -1000])).data();
    expect([...y]).toEqual([1, 0, 0]);
    const l = await E.logsumexp(E.tensor([1000, 1000])).data();
    expectClose(l, [1000 + Math.LN2], TOL.forward, 'logsumexp of two equal large values');
  });
});

describe('long reductions (forward only)', () => {
  // Non-negative inputs, so that |sum| = sum |x|: the f32 error, ~(terms per thread) * 2^-24 * sum |x|, is then
  // bounded relative to the result, which is what TOL.accumulate bounds.
  const LONG: [number[], number | undefined][] = [
    [[100003], undefined],
    [[3, 70001], -1],
    [[3, 70001, 2], 1],
    [[70001, 3], 0],
    // 70001 rows: more workgroups than the 65535 one dimension allows, so the grid spills into y.
    [[70001, 3], -1],
  ];
  LONG.forEach(([shape, axes], i) => {
    const x = randArr(shape, 700 + i, 0, 1);
    it(`sum and mean ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`, async () => {
      await checkOp({ name: 'sum', inputs: [x], gpu: (t) => E.sum(t, axes), ref: (a) => R.reduce(a, axes, false, R.sumOf), forwardTol: TOL.accumulate, grad: [false] });
      await checkOp({ name: 'mean', inputs: [x], gpu: (t) => E.mean(t, axes, true), ref: (a) => R.reduce(a, axes, true, meanOf), forwardTol: TOL.accumulate, grad: [false] });
    });
    it(`max, min, argmax ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`, async () => {
      // max and min are exact in f32.
      await checkOp({ name: 'max', inputs: [x], gpu: (t) => E.max(t, axes), ref: (a) => R.reduce(a, axes, false, maxOf), grad: [false] });
      await checkOp({ name: 'min', inputs: [x], gpu: (t) => E.min(t, axes), ref: (a) => R.reduce(a, axes, false, minOf), grad: [false] });
      const axis = axes ?? 0;
      const first = (v: number[]): number => v.indexOf(maxOf(v));
      await checkOp({ name: 'argmax', inputs: [x], gpu: (t) => E.argmax(t, axis), ref: (a) => R.reduce(a, axis, false, first), grad: [false] });
    });
  });
});

describe('errors', () => {
  it('bad axes throw errors that name the op', () => {
    const x = E.zeros([2, 3]);
    expect(() => E.sum(x, 2)).toThrow(/sum: axis 2 is out of range for rank 2/);
    expect(() => E.mean(x, -3)).toThrow(/mean: axis -3 is out of range for rank 2/);
    expect(() => E.max(x, [0, 0])).toThrow(/max: repeated axis/);
    expect(() => E.min(x, 1.5)).toThrow(/min: axis 1.5/);
    expect(() => E.logsumexp(x, [0, 5])).toThrow(/logsumexp: axis 5/);
    expect(() => E.variance(x, [1, -1])).toThrow(/variance: repeated axis/);
    expect(() => E.variance(x, 1, false, 3)).toThrow(/variance: 3 elements with correction 3/);
    expect(() => E.softmax(x, 2)).toThrow(/softmax: axis 2 is out of range for rank 2/);
    expect(() => E.logSoftmax(x, -3)).toThrow(/logSoftmax: axis -3 is out of range for rank 2/);
    expect(() => E.argmax(x, 2)).toThrow(/argmax: axis 2 is out of range for rank 2/);
    expect(() => E.argmin(x, -3)).toThrow(/argmin: axis -3 is out of range for rank 2/);
    expect(() => E.sum(E.zeros([]), 0)).toThrow(/sum: axis 0 is out of range for rank 0/);
  });

  it('an empty axis sums to zeros; max, min, argmax, argmin of it throw, naming the op', async () => {
    const z = E.zeros([3, 0]);
    const s = E.sum(z, 1);
    expect([...s.shape]).toEqual([3]);
    expect([...(await s.data())]).toEqual([0, 0, 0]);
    expect([...E.sum(z, 0, true).shape]).toEqual([1, 0]);
    expect(() => E.max(z, 1)).toThrow(/max: cannot reduce an empty axis of \[3, 0\]/);
    expect(() => E.min(z)).toThrow(/min: cannot reduce an empty axis of \[3, 0\]/);
    expect(() => E.argmax(z, 1)).toThrow(/argmax: axis 1 of \[3, 0\] is empty/);
    expect(() => E.argmin(z, -1)).toThrow(/argmin: axis -1 of \[3, 0\] is empty/);
  });
});

describe('infinities', () => {
  it('max/min of infinite rows are infinite, and logsumexp follows PyTorch', async () => {
    expect([...(await E.max(E.tensor([-Infinity, -Infinity])).data())]).toEqual([-Infinity]);
    expect([...(await E.min(E.tensor([[Infinity], [2]]), 1).data())]).toEqual([Infinity, 2]);
    expect([...(await E.max(E.tensor([[-Infinity, -Infinity, 1]]), 0).data())]).toEqual([-Infinity, -Infinity, 1]);
    expect([...(await E.logsumexp(E.tensor([Infinity, 1])).data())]).toEqual([Infinity]);
    expect([...(await E.logsumexp(E.tensor([-Infinity, -Infinity])).data())]).toEqual([-Infinity]);
  });
});
