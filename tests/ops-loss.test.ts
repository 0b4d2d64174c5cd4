// Losses and similarity: crossEntropy (i32 labels), bceWithLogits (multi-label), mse, l2Normalize and
// cosineSimilarityMatrix, forward and backward against the float64 reference and finite differences; extreme logits
// stay finite; bad labels poison the loss instead of training silently; shape errors name the op.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, expectClose, randArr, rng, toGpu } from './support/harness.ts';
import { TOL } from './support/tolerances.ts';
import * as R from './support/reference.ts';

const ctx = useEngine();

const labelsOf = (n: number, classes: number, seed: number): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * classes));
};
const i32 = (v: readonly number[]): E.Tensor => E.tensor(Int32Array.from(v));

/** 0/1 targets with roughly `p` ones. */
function multiHot(shape: number[], seed: number, p = 0.3): R.Arr {
  return R.map(randArr(shape, seed, 0, 1), (v) => (v < p ? 1 : 0));
}

describe('crossEntropy', () => {
  const CASES: [number, number, number, number][] = [
    // rows, classes, logit scale, seed
    [1, 3, 2, 1],
    [7, 5, 2, 2],
    [33, 10, 4, 3],
    [5, 129, 3, 4],
    [16, 2, 1, 5],
  ];
  for (const [n, c, scale, seed] of CASES) {
    it(`[${n}, ${c}] logits against i32 labels`, async () => {
      const labels = labelsOf(n, c, seed);
      labels[0] = c - 1; // the last class is reachable
      await checkOp({
        name: 'crossEntropy',
        inputs: [randArr([n, c], seed, -scale, scale)],
        gpu: (x) => E.crossEntropy(x, i32(labels)),
        ref: (x) => R.crossEntropy(x, labels),
      });
    });
  }

  it('the gradient is (softmax - onehot) / n', async () => {
    const x = randArr([4, 3], 8);
    const labels = [2, 0, 0, 1];
    const t = toGpu(x);
    t.requiresGrad = true;
    E.backward(E.crossEntropy(t, i32(labels)));
    const want = new Float64Array(12);
    for (let i = 0; i < 4; i++) {
      const row = [...x.data.subarray(i * 3, i * 3 + 3)];
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      row.forEach((v, j) => (want[i * 3 + j] = (Math.exp(v) / z - (j === labels[i] ? 1 : 0)) / 4));
    }
    expectClose(await t.grad!.data(), want, TOL.grad, 'crossEntropy gradient');
  });

  it('stays finite and exact for logits of +-1e4', async () => {
    const x = R.arr([3, 4], [1e4, -1e4, 0, 5, -1e4, -1e4, -1e4, -1e4, 3, 1e4, 1e4, -2]);
    const labels = [1, 2, 0];
    const t = toGpu(x);
    t.requiresGrad = true;
    const loss = E.crossEntropy(t, i32(labels));
    const got = await loss.item();
    expect(Number.isFinite(got)).toBe(true);
    expectClose([got], R.crossEntropy(x, labels).data, TOL.forward, 'crossEntropy of extreme logits');
    E.backward(loss);
    const g = await t.grad!.data();
    expect([...g].every(Number.isFinite)).toBe(true);
  });

  it('an out-of-range label makes the loss NaN instead of training silently', async () => {
    const x = toGpu(randArr([4, 5], 9));
    x.requiresGrad = true;
    for (const bad of [5, -1, 1000]) {
      const loss = E.crossEntropy(x, i32([0, bad, 2, 4]));
      expect(Number.isNaN(await loss.item()), `label ${bad}`).toBe(true);
      E.backward(loss);
      const g = await x.grad!.data();
      expect([...g].some(Number.isNaN), `label ${bad}: gradient`).toBe(true);
      x.grad!.dispose();
      x.grad = null;
    }
  });

  it('rejects wrong shapes and dtypes, naming the op', () => {
    const x = E.zeros([4, 5]);
    expect(() => E.crossEntropy(E.zeros([20]), i32([0, 1, 2, 3]))).toThrow(/crossEntropy: logits must be \[n, classes\], got \[20\]/);
    expect(() => E.crossEntropy(x, i32([0, 1, 2]))).toThrow(/crossEntropy: labels must be i32 \[4\], got i32 \[3\]/);
    expect(() => E.crossEntropy(x, E.tensor([0, 1, 2, 3]))).toThrow(/crossEntropy: labels must be i32 \[4\], got f32 \[4\]/);
    expect(() => E.crossEntropy(x, E.tensor(Int32Array.from([0, 1, 2, 3]), [4, 1]))).toThrow(/crossEntropy: labels/);
  });
});

describe('bceWithLogits', () => {
  const SHAPES: number[][] = [[1], [7, 5], [33, 10], [3, 1, 13]];
  for (const shape of SHAPES) {
    it(`multi-label 0/1 targets ${JSON.stringify(shape)}`, async () => {
      await checkOp({
        name: 'bceWithLogits',
        inputs: [randArr(shape, 11, -4, 4), multiHot(shape, 12)],
        gpu: E.bceWithLogits,
        ref: R.bceWithLogits,
        grad: [true, false],
      });
    });
  }

  it('soft targets in [0, 1], with gradients for both', async () => {
    await checkOp({ name: 'bceWithLogits', inputs: [randArr([7, 5], 13, -3, 3), randArr([7, 5], 14, 0, 1)], gpu: E.bceWithLogits, ref: R.bceWithLogits });
  });

  it('stays finite and exact for large |logits|, and the gradient is (sigmoid(x) - y) / n', async () => {
    const xs = [-1e4, -100, -30, -20, 20, 30, 100, 1e4, -100, 100];
    const ys = [0, 0, 1, 0, 1, 0, 1, 1, 1, 0];
    const x = E.tensor(xs);
    x.requiresGrad = true;
    const loss = E.bceWithLogits(x, E.tensor(ys));
    const got = await loss.item();
    expect(Number.isFinite(got)).toBe(true);
    expectClose([got], R.bceWithLogits(R.arr([10], xs), R.arr([10], ys)).data, TOL.forward, 'bce of large logits');
    E.backward(loss);
    const want = xs.map((v, i) => (R.sigmoid(v) - ys[i]) / xs.length);
    expectClose(await x.grad!.data(), want, TOL.grad, 'bce gradient at large logits');
  });

  it('the gradient at a logit of exactly 0 is (0.5 - y) / n, as for a zero-initialized head', async () => {
    const x = E.zeros([4]);
    x.requiresGrad = true;
    const ys = [0, 1, 0.25, 0];
    E.backward(E.bceWithLogits(x, E.tensor(ys)));
    expectClose(await x.grad!.data(), ys.map((y) => (0.5 - y) / 4), TOL.grad, 'bce gradient at 0');
  });

  it('rejects targets of another shape, naming the op', () => {
    expect(() => E.bceWithLogits(E.zeros([4, 3]), E.zeros([3]))).toThrow(/bceWithLogits: logits \[4, 3\] and targets \[3\] differ/);
    expect(() => E.bceWithLogits(E.zeros([4, 3]), E.zeros([3, 4]))).toThrow(/bceWithLogits/);
  });
});

describe('mse', () => {
  for (const shape of [[1], [7, 33], [3, 1, 5]]) {
    it(`${JSON.stringify(shape)}`, async () => {
      await checkOp({ name: 'mse', inputs: [randArr(shape, 21, -2, 2), randArr(shape, 22, -2, 2)], gpu: E.mse, ref: R.mse });
    });
  }

  it('rejects different shapes instead of broadcasting them, naming the op', () => {
    // [n, 1] against [n] would silently broadcast to [n, n] (the classic regression bug).
    expect(() => E.mse(E.zeros([5, 1]), E.zeros([5]))).toThrow(/mse: shapes \[5, 1\] and \[5\] differ/);
    expect(() => E.mse(E.zeros([3]), E.zeros([4]))).toThrow(/mse/);
  });
});

describe('l2Normalize', () => {
  const CASES: [number[], number][] = [
    [[7, 33], -1],
    [[7, 33], 0],
    [[3, 5, 4], 1],
    [[2, 3, 1, 7], -1],
    [[1, 9], 1],
    [[5, 1], 1], // single-element vectors: +-1
  ];
  for (const [shape, axis] of CASES) {
    it(`${JSON.stringify(shape)} along axis ${axis}`, async () => {
      await checkOp({
        name: 'l2Normalize',
        inputs: [randArr(shape, 31, -2, 2)],
        gpu: (x) => E.l2Normalize(x, axis),
        ref: (x) => R.l2Normalize(x, axis < 0 ? axis + shape.length : axis),
      });
    });
  }

  it('default axis is the last; unit norms result', async () => {
    const y = await E.l2Normalize(toGpu(randArr([6, 11], 32))).data();
    for (let i = 0; i < 6; i++) {
      let s = 0;
      for (let j = 0; j < 11; j++) s += y[i * 11 + j] ** 2;
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-6);
    }
  });

  it('a zero vector stays zero with a finite gradient (g / eps, as torch)', async () => {
    const xa = randArr([3, 4], 33);
    xa.data.fill(0, 4, 8);
    const x = toGpu(xa);
    x.requiresGrad = true;
    const w = randArr([3, 4], 34);
    const y = E.l2Normalize(x, -1);
    E.backward(E.sum(E.mul(y, toGpu(w))));
    const got = await y.data();
    expect([...got.slice(4, 8)]).toEqual([0, 0, 0, 0]);
    expectClose(got, R.l2Normalize(xa, 1).data, TOL.forward, 'l2Normalize with a zero row');
    const g = await x.grad!.data();
    expect([...g].every(Number.isFinite), `gradient ${[...g]}`).toBe(true);
    expectClose(g.slice(4, 8), [...w.data.slice(4, 8)].map((v) => v / 1e-12), TOL.grad, 'gradient of the zero row');
    // A tiny eps (eps^2 below f32's normal range) still gives 0, not 0 / 0.
    expect([...(await E.l2Normalize(E.zeros([2, 3]), -1, 1e-30).data())]).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('cosineSimilarityMatrix', () => {
  const CASES: [number, number, number][] = [
    [5, 3, 7],
    [1, 4, 33],
    [7, 7, 2],
    [6, 1, 1],
  ];
  for (const [n, m, d] of CASES) {
    it(`[${n}, ${d}] x [${m}, ${d}]`, async () => {
      await checkOp({
        name: 'cosineSimilarityMatrix',
        inputs: [randArr([n, d], 41), randArr([m, d], 42)],
        gpu: E.cosineSimilarityMatrix,
        ref: R.cosineSimilarityMatrix,
      });
    });
  }

  it('the similarity of a matrix with itself has a unit diagonal', async () => {
    const a = toGpu(randArr([9, 5], 43));
    const s = await E.cosineSimilarityMatrix(a, a).data();
    for (let i = 0; i < 9; i++) expect(Math.abs(s[i * 9 + i] - 1)).toBeLessThan(1e-6);
  });

  it('rejects shapes other than [n, d] x [m, d], naming the op', () => {
    const a = E.zeros([4, 3]);
    expect(() => E.cosineSimilarityMatrix(a, E.zeros([4, 5]))).toThrow(/cosineSimilarityMatrix: expects \[n, d\] and \[m, d\], got \[4, 3\] and \[4, 5\]/);
    expect(() => E.cosineSimilarityMatrix(E.zeros([3]), a)).toThrow(/cosineSimilarityMatrix/);
    expect(() => E.cosineSimilarityMatrix(a, E.zeros([2, 4, 3]))).toThrow(/cosineSimilarityMatrix/);
  });
});

describe('memory', () => {
  it('losses outside tidy and without gradients free every intermediate', async () => {
    const x = toGpu(randArr([6, 5], 51));
    const t = toGpu(multiHot([6, 5], 52));
    const labels = i32([0, 1, 2, 3, 4, 0]);
    const before = ctx.engine.memory.bytesInUse;
    for (const f of [
      () => E.crossEntropy(x, labels),
      () => E.bceWithLogits(x, t),
      () => E.mse(x, t),
      () => E.l2Normalize(x, 0),
      () => E.cosineSimilarityMatrix(x, t),
    ]) {
      const y = f();
      await y.data();
      y.dispose();
      expect(ctx.engine.memory.bytesInUse, f.toString()).toBe(before);
    }
  });
});
