// Matmul: 2-D and batched, all four (transA, transB) combinations, broadcast batch dims, shapes off every tile edge
// (the kernel computes 64x64 tiles of C through 16-deep K tiles), forward and backward against the float64 reference
// and finite differences. The reference gradient re-evaluates the matmul once per input element (cost ~
// 2 (mk + kn) mkn per case), so large shapes are checked forward only.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, expectClose, randArr, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';
import { TOL } from './support/tolerances.ts';

useEngine();

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

const label = (ta: boolean, tb: boolean): string => `${ta ? 'A^T' : 'A'} ${tb ? 'B^T' : 'B'}`;

/** A [...batchA, m, k] (stored [..., k, m] when transposed) and B [...batchB, k, n] (stored [..., n, k]). */
function operands(batchA: number[], batchB: number[], [m, k, n]: number[], ta: boolean, tb: boolean, seed: number): [R.Arr, R.Arr] {
  return [randArr([...batchA, ...(ta ? [k, m] : [m, k])], seed), randArr([...batchB, ...(tb ? [n, k] : [k, n])], seed + 1)];
}

async function checkMatmul(batchA: number[], batchB: number[], mkn: number[], ta: boolean, tb: boolean, grad: boolean, seed: number): Promise<void> {
  const [a, b] = operands(batchA, batchB, mkn, ta, tb, seed);
  await checkOp({
    name: `matmul ${label(ta, tb)}`,
    inputs: [a, b],
    gpu: (x, y) => E.matmul(x, y, { transA: ta, transB: tb }),
    ref: (x, y) => R.matmul(x, y, ta, tb),
    forwardTol: TOL.accumulate,
    grad: [grad, grad],
  });
}

const fmtCase = (batchA: number[], batchB: number[], [m, k, n]: number[]): string =>
  `[${[...batchA, 'm', 'k'].join(',')}] x [${[...batchB, 'k', 'n'].join(',')}] m,k,n=${m},${k},${n}`;

describe('2-D matmul', () => {
  // m x k x n: a single element, primes around the 16-deep K tile, and m, n crossing the 64-wide tile edges.
  const BACKWARD: number[][] = [
    [1, 1, 1],
    [7, 33, 129],
    [65, 17, 66],
    [3, 16, 64],
  ];
  // Too large for the float64 reference gradient: forward only.
  const FORWARD: number[][] = [
    [1000, 3, 17],
    [130, 257, 67],
    [17, 1000, 5],
  ];
  COMBOS.forEach(([ta, tb], c) => {
    for (const mkn of BACKWARD) {
      it(`${label(ta, tb)} ${mkn.join('x')}`, async () => {
        await checkMatmul([], [], mkn, ta, tb, true, 10 * c + 1);
      });
    }
    it(`${label(ta, tb)} ${FORWARD.map((s) => s.join('x')).join(', ')} (forward)`, async () => {
      for (const mkn of FORWARD) await checkMatmul([], [], mkn, ta, tb, false, 10 * c + 2);
    });
  });

  it('A 1000x3 x B 3x17 backward (one combination, the reference gradient is slow)', async () => {
    await checkMatmul([], [], [1000, 3, 17], false, false, true, 3);
  });
});

describe('batched matmul with broadcasting', () => {
  // [batchA, batchB, [m, k, n]]: same batch, broadcast on either side, unbatched against batched, 1s against n in
  // several dims, four batch dims.
  const BATCHED: [number[], number[], number[]][] = [
    [[3], [3], [5, 7, 6]],
    [[2, 1], [3], [5, 7, 6]],
    [[], [4], [9, 13, 5]],
    [[4], [], [9, 13, 5]],
    [[2, 3], [], [5, 7, 6]], // batch folded into the rows for dB of a shared weight
    [[1, 3], [2, 1], [4, 17, 3]],
    [[2, 1, 3, 1], [1, 2, 1, 2], [3, 4, 5]],
    [[2], [2], [1, 1, 1]],
    [[1], [3], [65, 2, 3]],
  ];
  COMBOS.forEach(([ta, tb], c) => {
    BATCHED.forEach(([batchA, batchB, mkn], i) => {
      it(`${label(ta, tb)} ${fmtCase(batchA, batchB, mkn)}`, async () => {
        await checkMatmul(batchA, batchB, mkn, ta, tb, true, 100 + 10 * i + c);
      });
    });
  });

  COMBOS.forEach(([ta, tb], c) => {
    it(`${label(ta, tb)} large batched shapes (forward)`, async () => {
      await checkMatmul([3, 2], [2], [70, 45, 129], ta, tb, false, 200 + c);
      await checkMatmul([], [5], [1000, 3, 17], ta, tb, false, 210 + c);
      await checkMatmul([2, 1, 2, 1], [3, 1, 2], [65, 33, 66], ta, tb, false, 220 + c);
    });
  });
});

describe('a batch longer than the grid allows', () => {
  it('forward and both gradients over 65,553 matrices (B broadcast over the first batch dim), against float64', async () => {
    // loss = sum(C * W): dC = W, dA = W B^T, dB = sum over the broadcast dim of A^T W.
    const [a, b] = operands([3, 21851], [21851], [2, 3, 2], false, false, 300);
    const w = randArr([3, 21851, 2, 2], 302);
    const [x, y, wt] = [a, b, w].map((t) => E.tensor(Float32Array.from(t.data), t.shape));
    const [px, py] = [E.parameter(x), E.parameter(y)];
    const c = E.matmul(px, py);
    E.backward(E.sum(E.mul(c, wt)));
    const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string): void => {
      expect(got.length, what).toBe(want.length);
      for (let i = 0; i < want.length; i++) if (Math.abs(got[i] - want[i]) > 1e-5 + 1e-5 * Math.abs(want[i])) throw new Error(`${what}: entry ${i}: got ${got[i]}, want ${want[i]}`);
    };
    close(await c.data(), R.matmul(a, b, false, false).data, 'C');
    close(await px.grad!.data(), R.matmul(w, b, false, true).data, 'dA');
    const perA = R.matmul(a, w, true, false); // [3, 21851, 3, 2]
    const dB = new Float64Array(21851 * 6);
    for (let i = 0; i < perA.data.length; i++) dB[i % dB.length] += perA.data[i];
    close(await py.grad!.data(), dB, 'dB');
    for (const t of [x, y, wt, px, py, c]) t.dispose();
  });
});

describe('empty dimensions', () => {
  it('k = 0 gives zeros, and empty gradients', async () => {
    for (const [ta, tb] of COMBOS) {
      const [a, b] = operands([], [], [3, 0, 4], ta, tb, 1);
      await checkOp({
        name: `matmul k=0 ${label(ta, tb)}`,
        inputs: [a, b],
        gpu: (x, y) => E.matmul(x, y, { transA: ta, transB: tb }),
        ref: (x, y) => R.matmul(x, y, ta, tb),
        grad: [false, false],
      });
    }
    const [a, b] = operands([2], [], [3, 0, 4], false, false, 2);
    const ta = E.tensor(Float32Array.from(a.data), a.shape);
    const tb = E.tensor(Float32Array.from(b.data), b.shape);
    ta.requiresGrad = tb.requiresGrad = true;
    const c = E.matmul(ta, tb);
    expect([...c.shape]).toEqual([2, 3, 4]);
    expect([...(await c.data())]).toEqual(new Array(24).fill(0));
    E.backward(E.sum(c));
    expect([...ta.grad!.shape]).toEqual([2, 3, 0]);
    expect([...tb.grad!.shape]).toEqual([0, 4]);
  });

  it('m = 0 or n = 0 gives an empty result', async () => {
    expect([...E.matmul(E.zeros([0, 3]), E.zeros([3, 4])).shape]).toEqual([0, 4]);
    expect([...E.matmul(E.zeros([2, 5, 3]), E.zeros([3, 0])).shape]).toEqual([2, 5, 0]);
    expect((await E.matmul(E.zeros([0, 3]), E.zeros([3, 4])).data()).length).toBe(0);
  });
});

describe('Linear', () => {
  it('initializes like PyTorch (uniform within +-1/sqrt(in)) and computes x W^T + b', async () => {
    const layer = new E.Linear(37, 11, { seed: 5 });
    const bound = 1 / Math.sqrt(37);
    const w = (await layer.weight.data()) as Float32Array;
    const b = (await layer.bias!.data()) as Float32Array;
    expect(layer.weight.shape).toEqual([11, 37]);
    for (const v of [...w, ...b]) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    // Spread over the range, not squeezed near 0: the extremes reach past 90% of the bound, the mean is near 0.
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.abs(w.reduce((a, v) => a + v, 0) / w.length)).toBeLessThan(0.1 * bound);
    const x = randArr([3, 37], 60);
    const want = R.zipN([R.matmul(x, { shape: [11, 37], data: Float64Array.from(w) }, false, true), R.reshape({ shape: [11], data: Float64Array.from(b) }, [1, 11])], (u, v) => u + v);
    expectClose(await layer.forward(toGpu(x)).data(), want.data, TOL.accumulate, 'Linear forward');
    const plain = new E.Linear(4, 2, { seed: 1, bias: false });
    expect(plain.bias).toBeNull();
    layer.dispose();
    plain.dispose();
  });
});

describe('matmul with a bias', () => {
  // The bias is added to every row. Fused into the kernel when it is one [n] vector or one per output batch entry;
  // added after the product otherwise (broadcast along some batch dims, or a batch folded into the rows).
  const CASES: { what: string; a: number[]; b: number[]; bias: number[]; ta?: boolean; tb?: boolean }[] = [
    { what: 'shared [n], 2-D', a: [5, 7], b: [7, 6], bias: [6] },
    { what: 'shared [n], single element', a: [1, 1], b: [1, 1], bias: [1] },
    { what: 'one per batch entry (a Linear per model, B^T)', a: [3, 5, 7], b: [3, 6, 7], bias: [3, 6], tb: true },
    { what: 'one per batch entry, A^T, two batch dims', a: [2, 3, 7, 5], b: [3, 7, 6], bias: [2, 3, 6], ta: true },
    { what: 'broadcast along a batch dim (added after)', a: [2, 1, 5, 7], b: [3, 7, 6], bias: [2, 1, 6] },
    { what: 'per entry of a batch folded into rows (added after)', a: [4, 9, 13], b: [13, 5], bias: [4, 5] },
    { what: 'shared, batch folded into rows', a: [4, 9, 13], b: [13, 5], bias: [5] },
    // Linear's configuration: a shared [out, in] weight (B^T) and a shared [out] bias, on 2-D and batched inputs.
    { what: 'a Linear: shared [n], B^T', a: [5, 7], b: [6, 7], bias: [6], tb: true },
    { what: 'a Linear on a batch: shared [n], B^T, batch folded into rows', a: [4, 9, 13], b: [5, 13], bias: [5], tb: true },
  ];
  CASES.forEach((c, i) => {
    it(`${c.what}: ${JSON.stringify(c.a)} x ${JSON.stringify(c.b)} + ${JSON.stringify(c.bias)}`, async () => {
      const ta = c.ta ?? false;
      const tb = c.tb ?? false;
      const n = c.bias[c.bias.length - 1];
      await checkOp({
        name: `matmul + bias ${c.what}`,
        inputs: [randArr(c.a, 70 + i), randArr(c.b, 80 + i), randArr(c.bias, 90 + i)],
        gpu: (x, y, z) => E.matmul(x, y, { transA: ta, transB: tb, bias: z }),
        ref: (x, y, z) => R.zipN([R.matmul(x, y, ta, tb), R.reshape(z, [...c.bias.slice(0, -1), 1, n])], (u, v) => u + v),
        forwardTol: TOL.accumulate,
      });
    });
  });

  it('k = 0: the bias alone', async () => {
    const bias = E.tensor([1, 2, 3]);
    const y = E.matmul(E.zeros([2, 0]), E.zeros([0, 3]), { bias });
    expect([...(await y.data())]).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('rejects a bias that does not end in N or would grow the output, naming both shapes', () => {
    const z = E.zeros;
    expect(() => E.matmul(z([2, 3]), z([3, 4]), { bias: z([3]) })).toThrow(/matmul: bias \[3\] does not end in the output's 4 columns \(output \[2, 4\]\)/);
    expect(() => E.matmul(z([2, 3]), z([3, 4]), { bias: z([5, 4]) })).toThrow(/matmul: bias \[5, 4\] would grow the output \[2, 4\] to \[5, 2, 4\]/);
    expect(() => E.matmul(z([2, 2, 3]), z([3, 4]), { bias: z([3, 4]) })).toThrow(/matmul: bias \[3, 4\] against output \[2, 2, 4\]/);
  });
});

describe('errors', () => {
  it('shape errors name the op and both shapes', () => {
    const z = E.zeros;
    expect(() => E.matmul(z([2, 3]), z([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] x \[4, 5\] \(3 vs 4\)/);
    expect(() => E.matmul(z([3, 2]), z([4, 5]), { transA: true })).toThrow(
      /matmul \(A transposed\): inner dimensions differ: \[3, 2\] x \[4, 5\] \(3 vs 4\)/,
    );
    expect(() => E.matmul(z([2, 3]), z([5, 4]), { transB: true })).toThrow(
      /matmul \(B transposed\): inner dimensions differ: \[2, 3\] x \[5, 4\] \(3 vs 4\)/,
    );
    expect(() => E.matmul(z([3, 2]), z([5, 4]), { transA: true, transB: true })).toThrow(
      /matmul \(A transposed\) \(B transposed\): inner dimensions differ: \[3, 2\] x \[5, 4\] \(3 vs 4\)/,
    );
    expect(() => E.matmul(z([3]), z([3, 4]))).toThrow(/matmul: operands must have rank >= 2, got \[3\] and \[3, 4\]/);
    expect(() => E.matmul(z([2, 3, 4]), z([3, 4, 5]))).toThrow(/matmul: .*\[2, 3, 4\].*\[3, 4, 5\].*cannot be broadcast/);
    expect(() => E.matmul(z([1, 1, 1, 1, 2, 2, 3]), z([3, 2]))).toThrow(/matmul: .*at most 4 batch dims.*\[1, 1, 1, 1, 2, 2, 3\].*\[3, 2\]/);
  });
});
