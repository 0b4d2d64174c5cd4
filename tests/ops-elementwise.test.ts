// Elementwise ops: unary, broadcast binary, comparisons and where, forward and backward against the float64
// reference and finite differences, on awkward shapes (1, primes, sizes off every tile) and broadcasting.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, randArr, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';

useEngine();

const SHAPES: number[][] = [[1], [7], [33, 129], [3, 1, 13]];

type Unary = { name: string; gpu: (x: E.Tensor) => E.Tensor; ref: (v: number) => number; low?: number; high?: number };
const UNARY: Unary[] = [
  { name: 'neg', gpu: E.neg, ref: (v) => -v },
  { name: 'abs', gpu: E.abs, ref: Math.abs },
  { name: 'exp', gpu: E.exp, ref: Math.exp, low: -3, high: 3 },
  { name: 'log', gpu: E.log, ref: Math.log, low: 0.2, high: 4 },
  { name: 'sqrt', gpu: E.sqrt, ref: Math.sqrt, low: 0.2, high: 4 },
  { name: 'relu', gpu: E.relu, ref: (v) => Math.max(v, 0) },
  { name: 'sigmoid', gpu: E.sigmoid, ref: R.sigmoid, low: -6, high: 6 },
  { name: 'tanh', gpu: E.tanh, ref: Math.tanh, low: -3, high: 3 },
  { name: 'gelu', gpu: E.gelu, ref: R.gelu, low: -4, high: 4 },
  { name: 'pow 3', gpu: (x) => E.pow(x, 3), ref: (v) => v ** 3, low: -2, high: 2 },
  { name: 'pow 2.5', gpu: (x) => E.pow(x, 2.5), ref: (v) => v ** 2.5, low: 0.1, high: 2 },
  { name: 'pow -1', gpu: (x) => E.pow(x, -1), ref: (v) => 1 / v, low: 0.5, high: 2 },
  { name: 'affine', gpu: (x) => E.affine(x, -1.5, 0.25), ref: (v) => -1.5 * v + 0.25 },
];

describe('unary ops', () => {
  for (const op of UNARY) {
    for (const shape of SHAPES) {
      it(`${op.name} ${JSON.stringify(shape)}`, async () => {
        await checkOp({
          name: op.name,
          inputs: [randArr(shape, shape.length * 31 + 5, op.low ?? -2, op.high ?? 2)],
          gpu: op.gpu,
          ref: (x) => R.map(x, op.ref),
        });
      });
    }
  }
});

type Binary = {
  name: string;
  gpu: (a: E.Tensor, b: E.Tensor) => E.Tensor;
  ref: (u: number, v: number) => number;
  positiveB?: boolean;
  /** Keep a and b on interleaved grids so no pair is within a finite-difference step of a tie. */
  apart?: boolean;
};

/** Values on the grid offset + 0.1 k: two grids offset by 0.05 never come closer than 0.05. */
function onGrid(shape: number[], seed: number, offset: number): R.Arr {
  return R.map(randArr(shape, seed, -2, 2), (v) => Math.fround(Math.floor(v * 10) / 10 + offset));
}
const BINARY: Binary[] = [
  { name: 'add', gpu: E.add, ref: (u, v) => u + v },
  { name: 'sub', gpu: E.sub, ref: (u, v) => u - v },
  { name: 'mul', gpu: E.mul, ref: (u, v) => u * v },
  { name: 'div', gpu: E.div, ref: (u, v) => u / v, positiveB: true },
  { name: 'maximum', gpu: E.maximum, ref: Math.max, apart: true },
  { name: 'minimum', gpu: E.minimum, ref: Math.min, apart: true },
];

// Pairs that broadcast in every way: equal, scalar, leading dims, inner 1s on either side.
const PAIRS: [number[], number[]][] = [
  [[13, 129], [13, 129]],
  [[7, 33], [1]],
  [[1], [7, 5]],
  [[5, 1, 7], [3, 1]],
  [[1, 13], [11, 1]],
  [[2, 3, 1, 5], [3, 7, 1]],
  [[129], [1, 129]],
  // Layer-norm shapes: a per-feature weight and a per-row statistic against [models, rows, tokens, features]; the
  // launch merges the axes both walk contiguously, and the full-shape side is read at the output's own index.
  [[2, 3, 5, 7], [2, 1, 1, 7]],
  [[2, 3, 5, 7], [2, 3, 5, 1]],
  [[2, 1, 1, 7], [2, 3, 5, 7]],
  // Broadcast axes alternating between the sides, so the walk keeps all six axes (RANK = 6).
  [[2, 1, 3, 1, 2, 1], [1, 3, 1, 2, 1, 5]],
];

describe('binary ops with broadcasting', () => {
  for (const op of BINARY) {
    for (const [sa, sb] of PAIRS) {
      it(`${op.name} ${JSON.stringify(sa)} x ${JSON.stringify(sb)}`, async () => {
        await checkOp({
          name: op.name,
          inputs: op.apart
            ? [onGrid(sa, 11, 0), onGrid(sb, 12, 0.05)]
            : [randArr(sa, 11, -2, 2), randArr(sb, 12, op.positiveB ? 0.5 : -2, 2)],
          gpu: op.gpu,
          ref: (a, b) => R.zip(a, b, op.ref),
        });
      });
    }
  }

  it('scalar operands', async () => {
    await checkOp({ name: 'add 2.5', inputs: [randArr([7, 3], 1)], gpu: (x) => E.add(x, 2.5), ref: (x) => R.map(x, (v) => v + 2.5) });
    await checkOp({ name: 'sub 2.5', inputs: [randArr([7, 3], 2)], gpu: (x) => E.sub(x, 2.5), ref: (x) => R.map(x, (v) => v - 2.5) });
    await checkOp({ name: 'mul -3', inputs: [randArr([7, 3], 3)], gpu: (x) => E.mul(x, -3), ref: (x) => R.map(x, (v) => v * -3) });
    await checkOp({ name: 'div 4', inputs: [randArr([7, 3], 4)], gpu: (x) => E.div(x, 4), ref: (x) => R.map(x, (v) => v / 4) });
    await checkOp({ name: 'maximum 0.1', inputs: [randArr([7, 3], 5)], gpu: (x) => E.maximum(x, 0.1), ref: (x) => R.map(x, (v) => Math.max(v, 0.1)) });
  });

  it('splits the gradient evenly on ties, as PyTorch does', async () => {
    const a = E.tensor([1, 2, 3]);
    const b = E.tensor([1, 5, 0]);
    a.requiresGrad = b.requiresGrad = true;
    const y = E.maximum(a, b);
    E.backward(E.sum(y));
    expect([...(await a.grad!.data())]).toEqual([0.5, 0, 1]);
    expect([...(await b.grad!.data())]).toEqual([0.5, 1, 0]);
  });

  it('names the op and both shapes when shapes do not broadcast', () => {
    const a = E.zeros([3, 4]);
    const b = E.zeros([5]);
    expect(() => E.add(a, b)).toThrow(/add: shapes \[3, 4\] and \[5\] cannot be broadcast/);
    expect(() => E.where(E.zeros([2]), a, b)).toThrow(/where/);
  });
});

describe('comparisons and where', () => {
  const CMP: [string, (a: E.Tensor, b: E.Tensor) => E.Tensor, (u: number, v: number) => boolean][] = [
    ['lt', E.lt, (u, v) => u < v],
    ['le', E.le, (u, v) => u <= v],
    ['gt', E.gt, (u, v) => u > v],
    ['ge', E.ge, (u, v) => u >= v],
    ['eq', E.eq, (u, v) => u === v],
    ['ne', E.ne, (u, v) => u !== v],
  ];
  for (const [name, gpu, ref] of CMP) {
    it(`${name} gives a 0/1 mask with broadcasting, and no gradient`, async () => {
      // Small integers so that equality happens often.
      const a = R.map(randArr([5, 1, 7], 3, 0, 3), Math.floor);
      const b = R.map(randArr([3, 1], 4, 0, 3), Math.floor);
      await checkOp({ name, inputs: [a, b], gpu, ref: (x, y) => R.zip(x, y, (u, v) => (ref(u, v) ? 1 : 0)), grad: [false, false] });
      const t = toGpu(a);
      t.requiresGrad = true;
      const m = gpu(t, toGpu(b));
      expect(m.requiresGrad).toBe(false);
    });
  }

  for (const [sc, sa, sb] of [
    [[33, 7], [33, 7], [33, 7]],
    [[1, 7], [5, 1], [1]],
    [[1, 3, 1, 4], [4], [2, 1, 1, 1]],
    [[2, 1, 3, 1, 2], [1, 3, 1, 2, 1], [2, 3, 3, 2, 2]],
    // More than one 256-thread workgroup, broadcast along the first axis.
    [[37, 29], [1, 29], [37, 29]],
  ] as number[][][]) {
    it(`where ${JSON.stringify([sc, sa, sb])}`, async () => {
      const cond = R.map(randArr(sc, 9), (v) => (v > 0 ? 1 : 0));
      await checkOp({
        name: 'where',
        inputs: [cond, randArr(sa, 10), randArr(sb, 11)],
        gpu: E.where,
        ref: (c, a, b) => R.zipN([c, a, b], (u, v, w) => (u !== 0 ? v : w)),
        grad: [false, true, true],
      });
    });
  }
});

describe('edge values', () => {
  it('stays finite where naive formulas overflow', async () => {
    const x = E.tensor([-100, -20, 0, 20, 100]);
    expect([...(await E.sigmoid(x).data())].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0, 0.5, 1, 1]);
    expect([...(await E.tanh(x).data())]).toEqual([-1, -1, 0, 1, 1]);
  });

  it('pow of a negative base is defined for integer exponents only', async () => {
    const y = await E.pow(E.tensor([-2, -2, 0]), 3).data();
    expect([...y]).toEqual([-8, -8, 0]);
    const z = await E.pow(E.tensor([-2]), 0.5).data();
    expect(Number.isNaN(z[0])).toBe(true);
  });
});
