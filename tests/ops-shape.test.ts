// Shape ops: reshape, permute/transpose, slice, concat, expand, gather and detach, forward and backward against the
// float64 reference and finite differences, on awkward sizes (1, 7, 33) and ranks 1 to 5; i32 tensors through the
// ops that move raw words (label minibatches); errors that name the op.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, randArr, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';
import { coalesceDims } from '../src/core/shape.ts';

useEngine();

/** An i32 index tensor (created inside the op closure, so checkOp's tidy frees it). */
const idx = (v: readonly number[]): E.Tensor => E.tensor(Int32Array.from(v));

describe('coalesceDims (the index walk a strided kernel is launched with)', () => {
  it('merges axes every stride list walks contiguously and drops axes of extent 1', () => {
    // A contiguous slice of a [4, 5, 6] tensor along axis 0: one run.
    expect(coalesceDims([2, 5, 6], [[30, 6, 1], [30, 6, 1]])).toEqual({ shape: [60], strides: [[1], [1]] });
    // A transpose of the last two axes: the leading axis merges with nothing (the input steps over it by 30).
    expect(coalesceDims([4, 6, 5], [[30, 1, 6], [30, 5, 1]])).toEqual({ shape: [4, 6, 5], strides: [[30, 1, 6], [30, 5, 1]] });
    // [M, B, T, D] + [M, 1, 1, D]: B and T merge (the broadcast side has stride 0 on both).
    expect(coalesceDims([2, 3, 5, 7], [[105, 35, 7, 1], [7, 0, 0, 1]])).toEqual({ shape: [2, 15, 7], strides: [[105, 7, 1], [7, 0, 1]] });
    // Extent-1 axes vanish whatever their strides; a shape of ones keeps one axis.
    expect(coalesceDims([3, 1, 4], [[4, 99, 1]])).toEqual({ shape: [12], strides: [[1]] });
    expect(coalesceDims([1, 1], [[1, 1], [0, 0]])).toEqual({ shape: [1], strides: [[0], [0]] });
    expect(coalesceDims([], [[]])).toEqual({ shape: [1], strides: [[0]] });
  });

  it('walks the same elements in the same order as the original axes', () => {
    const walk = (shape: number[], strides: number[]): number[] => {
      const out: number[] = [];
      const n = shape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < n; i++) {
        let rem = i;
        let at = 0;
        for (let d = shape.length - 1; d >= 0; d--) {
          at += (rem % shape[d]) * strides[d];
          rem = Math.floor(rem / shape[d]);
        }
        out.push(at);
      }
      return out;
    };
    const cases: [number[], number[][]][] = [
      [[2, 3, 5, 3, 2, 7], [[630, 210, 42, 14, 7, 1], [315, 105, 21, 1, 3, 45]]],
      [[3, 1, 7, 5], [[35, 35, 5, 1], [0, 0, 1, 0]]],
      [[4, 4, 7, 7], [[196, 7, 28, 1], [196, 49, 7, 1]]],
    ];
    for (const [shape, strides] of cases) {
      const c = coalesceDims(shape, strides);
      strides.forEach((st, k) => expect(walk(c.shape, c.strides[k])).toEqual(walk(shape, st)));
    }
  });
});

describe('reshape', () => {
  const CASES: [number[], number[], number[]][] = [
    // input shape, requested shape (may hold -1), resolved shape
    [[7, 33], [33, 7], [33, 7]],
    [[7, 33], [-1], [231]],
    [[3, 1, 7], [7, -1], [7, 3]],
    [[2, 3, 4, 5], [4, -1, 5, 1], [4, 6, 5, 1]],
    [[1], [], []],
    [[5], [1, 5, 1], [1, 5, 1]],
  ];
  for (const [from, to, want] of CASES) {
    it(`${JSON.stringify(from)} -> ${JSON.stringify(to)}`, async () => {
      await checkOp({ name: 'reshape', inputs: [randArr(from, 3)], gpu: (x) => E.reshape(x, to), ref: (x) => R.reshape(x, want) });
    });
  }

  it('is a view: no copy, and the data is the same buffer', () => {
    const x = E.zeros([4, 6]);
    const y = E.reshape(x, [-1, 3]);
    expect([...y.shape]).toEqual([8, 3]);
    expect(y.buffer).toBe(x.buffer);
  });

  it('rejects sizes that do not fit, naming the op', () => {
    const x = E.zeros([4, 6]);
    expect(() => E.reshape(x, [5, 5])).toThrow(/reshape: cannot view \[4, 6\] as \[5, 5\]/);
    expect(() => E.reshape(x, [7, -1])).toThrow(/reshape: cannot view \[4, 6\] as \[7, -1\]/);
    expect(() => E.reshape(x, [0, -1])).toThrow(/reshape/);
    expect(() => E.reshape(x, [-1, -1])).toThrow(/reshape/);
    expect(() => E.reshape(x, [-2, -12])).toThrow(/reshape/);
    expect(() => E.reshape(x, [2.5, 9.6])).toThrow(/reshape/);
  });
});

describe('permute and transpose', () => {
  const PERMS: [number[], number[]][] = [
    [[7, 33], [1, 0]],
    [[1, 7, 33], [2, 0, 1]],
    [[33, 1, 7], [1, 2, 0]],
    [[3, 1, 7, 5], [3, 1, 0, 2]],
    [[2, 7, 1, 3, 5], [4, 2, 0, 3, 1]],
    [[2, 3, 2, 1, 7], [0, 1, 2, 3, 4]],
    [[5, 7], [-1, -2]],
    // The ViT's qkv split: leading axes that stay together merge into one, the rest keep their strides.
    [[2, 3, 5, 3, 2, 7], [3, 0, 1, 4, 2, 5]],
    // Rank 8 with no two axes mergeable: every unrolled step of the copy's index walk (RANK = 8).
    [[2, 3, 1, 2, 3, 2, 3, 2], [7, 6, 5, 4, 3, 2, 1, 0]],
    // The last axis kept and a multiple of 4: the copy moves four words at a time (strided_copy_vec4).
    [[2, 3, 5, 3, 2, 8], [3, 0, 1, 4, 2, 5]],
    [[3, 5, 12], [1, 0, 2]],
  ];
  for (const [shape, perm] of PERMS) {
    it(`permute ${JSON.stringify(shape)} by ${JSON.stringify(perm)}`, async () => {
      const p = perm.map((a) => (a < 0 ? a + shape.length : a));
      await checkOp({ name: 'permute', inputs: [randArr(shape, 5)], gpu: (x) => E.permute(x, perm), ref: (x) => R.permute(x, p) });
    });
  }

  const SWAPS: [number[], number, number][] = [
    [[33, 7], -2, -1],
    [[2, 33, 7], 0, 2],
    [[7, 1, 3, 5], 1, -1],
    [[2, 3, 1, 7, 2], 0, 3],
  ];
  for (const [shape, a, b] of SWAPS) {
    it(`transpose ${JSON.stringify(shape)} axes ${a}, ${b}`, async () => {
      const p = [...shape.keys()];
      const i = a < 0 ? a + shape.length : a;
      const j = b < 0 ? b + shape.length : b;
      [p[i], p[j]] = [p[j], p[i]];
      await checkOp({ name: 'transpose', inputs: [randArr(shape, 6)], gpu: (x) => E.transpose(x, a, b), ref: (x) => R.permute(x, p) });
    });
  }

  it('transpose defaults to the last two axes', async () => {
    await checkOp({ name: 'transpose', inputs: [randArr([3, 7, 5], 7)], gpu: (x) => E.transpose(x), ref: (x) => R.permute(x, [0, 2, 1]) });
  });

  it('rejects a non-permutation, naming the op', () => {
    const x = E.zeros([2, 3, 4]);
    expect(() => E.permute(x, [0, 1])).toThrow(/permute: \[0, 1\] is not a permutation of the 3 axes of \[2, 3, 4\]/);
    expect(() => E.permute(x, [0, 1, 1])).toThrow(/permute/);
    expect(() => E.permute(x, [0, 1, -3])).toThrow(/permute/);
    expect(() => E.permute(x, [0, 1, 3])).toThrow(/permute: axis 3 is out of range for rank 3/);
    expect(() => E.transpose(x, 0, 3)).toThrow(/transpose: axis 3/);
    expect(() => E.transpose(E.zeros([4]))).toThrow(/transpose/);
  });
});

describe('slice', () => {
  // shape, begin, end, and the resolved [begin, end) per axis for the reference
  const CASES: [number[], number[], (number | undefined)[] | undefined, number[], number[]][] = [
    [[33], [5], [12], [5], [12]],
    [[7, 33], [2, 1], [6, 32], [2, 1], [6, 32]],
    [[7, 33], [-3], undefined, [4, 0], [7, 33]],
    [[7, 33], [1, -10], [-1, -1], [1, 23], [6, 32]],
    [[7, 33], [0, 32], [7, 33], [0, 32], [7, 33]], // one column
    [[7, 33], [3, 0], [4, undefined], [3, 0], [4, 33]], // one row, second axis whole
    [[3, 1, 7, 5], [1, 0, 2], [3, 1, -2, 4], [1, 0, 2, 0], [3, 1, 5, 4]],
    [[2, 3, 1, 7, 5], [1, -2, 0, 3, 1], [2, 3, 1, 7, -1], [1, 1, 0, 3, 1], [2, 3, 1, 7, 4]],
    [[7, 5], [3, 0], [3, 5], [3, 0], [3, 5]], // an empty range: shape [0, 5]
    [[6, 3, 12], [1, 1, 4], [5, 3, 12], [1, 1, 4], [5, 3, 12]], // quads: inner run of 8, offsets of whole quads
  ];
  for (const [shape, begin, end, rb, re] of CASES) {
    it(`${JSON.stringify(shape)} [${begin}] to [${end ?? ''}]`, async () => {
      await checkOp({ name: 'slice', inputs: [randArr(shape, 8)], gpu: (x) => E.slice(x, begin, end), ref: (x) => R.slice(x, rb, re) });
    });
  }

  // Several slices of one tensor: the later ones' gradients are added into their regions of the accumulated gradient
  // in place (and a region used twice, or the whole tensor used too, must still add up).
  it('three slices along axis 0 (the ViT q, k, v split), combined', async () => {
    await checkOp({
      name: 'split in three',
      inputs: [randArr([3, 4, 5, 2], 21)],
      gpu: (x) => E.add(E.mul(E.slice(x, [0], [1]), E.slice(x, [1], [2])), E.mul(E.slice(x, [2], [3]), 3)),
      ref: (x) => R.zipN([R.slice(x, [0, 0, 0, 0], [1, 4, 5, 2]), R.slice(x, [1, 0, 0, 0], [2, 4, 5, 2]), R.slice(x, [2, 0, 0, 0], [3, 4, 5, 2])], (a, b, c) => a * b + 3 * c),
    });
  });

  it('overlapping slices along a middle axis, and the whole tensor used as well', async () => {
    await checkOp({
      name: 'overlapping slices',
      inputs: [randArr([2, 7, 3], 22)],
      gpu: (x) => E.add(E.add(E.mul(E.slice(x, [0, 1], [2, 5]), E.slice(x, [0, 3], [2, 7])), E.slice(x, [0, 2], [2, 6])), E.mul(E.slice(x, [0, 0], [2, 4]), E.sum(x))),
      ref: (x) => {
        const s = (b: number, e: number): R.Arr => R.slice(x, [0, b, 0], [2, e, 3]);
        const total = Array.from(x.data).reduce((a, v) => a + v, 0);
        return R.zipN([s(1, 5), s(3, 7), s(2, 6), s(0, 4)], (a, b, c, d) => a * b + c + d * total);
      },
    });
  });

  it('an empty range gives a zero-size tensor and a zero gradient', async () => {
    const x = toGpu(randArr([4, 3], 9));
    x.requiresGrad = true;
    const y = E.slice(x, [2], [2]);
    expect([...y.shape]).toEqual([0, 3]);
    expect((await y.data()).length).toBe(0);
    E.backward(E.add(E.sum(y), E.mul(E.sum(x), 0)));
    expect([...(await x.grad!.data())]).toEqual(new Array(12).fill(0));
  });

  it('rejects bounds out of range, naming the op, the bounds and the axis', () => {
    const x = E.zeros([4, 6]);
    expect(() => E.slice(x, [0, 2], [4, 7])).toThrow(/slice: bounds \[2, 7\) are out of range for axis 1 of \[4, 6\]/);
    expect(() => E.slice(x, [3], [2])).toThrow(/slice: bounds \[3, 2\) are out of range for axis 0/);
    expect(() => E.slice(x, [-5])).toThrow(/slice: bounds \[-5, 4\) are out of range for axis 0/);
    expect(() => E.slice(x, [0.5])).toThrow(/slice/);
    expect(() => E.slice(x, [0, 0, 0])).toThrow(/slice: 3 bounds for \[4, 6\]/);
    expect(() => E.slice(x, [0, 0], [4, 6, 1])).toThrow(/slice: 3 bounds for \[4, 6\]/);
  });
});

describe('concat', () => {
  const CASES: [number[][], number][] = [
    [[[3, 7], [5, 7]], 0],
    [[[1, 7], [33, 7], [2, 7]], 0],
    [[[2, 1, 5], [2, 7, 5], [2, 3, 5]], 1],
    [[[3, 2, 4], [3, 5, 4]], -2],
    [[[7, 1], [7, 33]], 1],
    [[[2, 3, 4], [2, 3, 1], [2, 3, 7]], -1],
        [[[2, 3, 1, 5], [2, 3, 2, 5], [2, 3, 0, 5]], 2], // a zero-length input (nothing to differentiate there)
  ];
  for (const [shapes, axis] of CASES) {
    it(`${shapes.map((s) => JSON.stringify(s)).join(' + ')} on axis ${axis}`, async () => {
      const rank = shapes[0].length;
      await checkOp({
        name: 'concat',
        inputs: shapes.map((s, i) => randArr(s, 20 + i)),
        gpu: (...xs) => E.concat(xs, axis),
        ref: (...xs) => R.concat(xs, axis < 0 ? axis + rank : axis),
        grad: shapes.map((s) => R.size(s) > 0),
      });
    });
  }

  it('the same tensor twice gets both gradients summed', async () => {
    await checkOp({ name: 'concat [x, x]', inputs: [randArr([3, 7], 30)], gpu: (x) => E.concat([x, x], 1), ref: (x) => R.concat([x, x], 1) });
  });

  it('only inputs that require grad get a gradient', async () => {
    await checkOp({
      name: 'concat',
      inputs: [randArr([2, 5], 31), randArr([3, 5], 32)],
      gpu: (a, b) => E.concat([a, b]),
      ref: (a, b) => R.concat([a, b], 0),
      grad: [false, true],
    });
  });

  it('rejects mismatched shapes, dtypes, axes and empty lists, naming the op', () => {
    const a = E.zeros([2, 3]);
    expect(() => E.concat([a, E.zeros([2, 4])], 0)).toThrow(/concat: shapes \[2, 3\], \[2, 4\] differ off axis 0/);
    expect(() => E.concat([a, E.zeros([2, 3, 1])], 0)).toThrow(/concat/);
    expect(() => E.concat([a, E.zeros([2, 3], 'i32')], 0)).toThrow(/concat/);
    expect(() => E.concat([a, a], 2)).toThrow(/concat: axis 2 is out of range for rank 2/);
    expect(() => E.concat([])).toThrow(/concat: no tensors given/);
  });
});

describe('expand', () => {
  const CASES: [number[], number[]][] = [
    [[1], [7]],
    [[1, 7], [33, 7]],
    [[7, 1], [7, 33]],
    [[3, 1, 5], [2, 3, 4, 5]],
    [[], [3, 7]],
    [[1, 1, 1], [2, 1, 7]],
    [[4, 5], [4, 5]],
  ];
  for (const [from, to] of CASES) {
    it(`${JSON.stringify(from)} -> ${JSON.stringify(to)}`, async () => {
      await checkOp({ name: 'expand', inputs: [randArr(from, 40)], gpu: (x) => E.expand(x, to), ref: (x) => R.expand(x, to) });
    });
  }

  it('rejects targets that are not a broadcast of the input, naming the op', () => {
    expect(() => E.expand(E.zeros([3]), [4])).toThrow(/expand/);
    expect(() => E.expand(E.zeros([2, 3]), [3])).toThrow(/expand: cannot broadcast \[2, 3\] to \[3\]/);
    expect(() => E.expand(E.zeros([3, 1]), [1, 5])).toThrow(/expand: cannot broadcast \[3, 1\] to \[1, 5\]/);
  });
});

describe('gather', () => {
  const CASES: [number[], number[], number][] = [
    [[7, 5], [3, 0, 6, 3, 3], 0], // repeated rows: their gradients must be summed
    [[33], [32, 0, 0, 16], 0],
    [[7, 5], [], 0], // no rows at all
    [[3, 7, 4], [6, 1, 1, 6, 2, 1], 1], // a middle axis with repeats
    [[2, 3, 5, 2], [4, 4, 0], -2],
    [[4, 6], [5, 0, 5, 2, 5, 1, 3], 1], // the last axis
    [[1, 1], [0, 0, 0], 1],
    // Rows of 300 and 129 elements: the 3-D launch (a workgroup row per gathered row), with a partial last workgroup.
    [[5, 300], [4, 0, 4, 2], 0],
    [[2, 6, 129], [5, 0, 5], 1],
  ];
  for (const [shape, index, axis] of CASES) {
    it(`${JSON.stringify(shape)} at [${index}] along axis ${axis}`, async () => {
      const ax = axis < 0 ? axis + shape.length : axis;
      await checkOp({ name: 'gather', inputs: [randArr(shape, 50)], gpu: (x) => E.gather(x, idx(index), axis), ref: (x) => R.gather(x, index, ax) });
    });
  }

  it('sums the gradient of duplicated indices exactly', async () => {
    const x = E.tensor([[1, 2], [3, 4], [5, 6]]);
    x.requiresGrad = true;
    const y = E.gather(x, idx([2, 0, 2, 2]));
    E.backward(E.sum(E.mul(y, E.tensor([[1, 10], [100, 1000], [2, 20], [3, 30]]))));
    expect([...(await x.grad!.data())]).toEqual([100, 1000, 0, 0, 6, 60]);
  });

  it('an index outside the axis gives NaN instead of a neighbour', async () => {
    const y = await E.gather(E.tensor([[1, 2], [3, 4]]), idx([1, 2, -1])).data();
    expect([...y.slice(0, 2)]).toEqual([3, 4]);
    expect([...y.slice(2)].every(Number.isNaN)).toBe(true);
  });

  it('rejects an index that is not a 1-D i32 tensor, naming the op', () => {
    const x = E.zeros([4, 3]);
    expect(() => E.gather(x, E.tensor([0, 1]))).toThrow(/gather: index must be a 1-D i32 tensor, got f32 \[2\]/);
    expect(() => E.gather(x, E.tensor(Int32Array.from([0, 1]), [1, 2]))).toThrow(/gather: index must be a 1-D i32 tensor/);
    expect(() => E.gather(x, idx([0]), 2)).toThrow(/gather: axis 2 is out of range for rank 2/);
  });
});

describe('gatherRowsInto', () => {
  it('fills one tensor from several sources through ranges of one index, exactly, leaving other rows alone', async () => {
    // Two sources of 7 and 3 rows of [5, 3] (prime sizes, not multiples of any workgroup), into 6 of 8 output rows.
    const a = randArr([7, 5, 3], 71);
    const b = randArr([3, 5, 3], 72);
    const A = E.tensor(a.data, a.shape);
    const B = E.tensor(b.data, b.shape);
    const out = E.full([8, 5, 3], -7);
    const index = idx([6, 0, 6, 2, 1, 0, 9]); // A rows 6, 0, 6, 2 then B rows 1, 0; the 9 is never read
    E.gatherRowsInto(A, index, out, 0, 4, 1);
    E.gatherRowsInto(B, index, out, 4, 2, 5);
    E.gatherRowsInto(B, index, out, 6, 0, 0); // no rows: nothing
    const row = (x: { data: ArrayLike<number> }, r: number): number[] => Array.from(x.data).slice(r * 15, (r + 1) * 15);
    const want = [Array(15).fill(-7), row(a, 6), row(a, 0), row(a, 6), row(a, 2), row(b, 1), row(b, 0), Array(15).fill(-7)].flat();
    expect([...(await out.data())]).toEqual(want.map((v) => Math.fround(v)));
    for (const t of [A, B, out, index]) t.dispose();
  });

  it('rows long enough for the 3-D launch land in the right rows too', async () => {
    const a = randArr([6, 2, 150], 73);
    const A = E.tensor(a.data, a.shape);
    const out = E.full([4, 2, 150], -7);
    const index = idx([5, 1, 5]);
    E.gatherRowsInto(A, index, out, 0, 3, 1);
    const row = (r: number): number[] => Array.from(a.data).slice(r * 300, (r + 1) * 300);
    const want = [Array(300).fill(-7), row(5), row(1), row(5)].flat();
    expect([...(await out.data())]).toEqual(want.map((v) => Math.fround(v)));
    for (const t of [A, out, index]) t.dispose();
  });

  it('names what is wrong: ranges, shapes, gradients', () => {
    const x = E.zeros([4, 3]);
    const out = E.zeros([2, 3]);
    const index = idx([0, 1, 2]);
    expect(() => E.gatherRowsInto(x, index, out, 2, 2, 0)).toThrow(/gatherRowsInto: .*entries 2\.\.4 of an index of 3: out of range/);
    expect(() => E.gatherRowsInto(x, index, out, 0, 2, 1)).toThrow(/gatherRowsInto: rows 1\.\.3 of \[2, 3\]/);
    expect(() => E.gatherRowsInto(x, index, E.zeros([2, 4]), 0, 1, 0)).toThrow(/gatherRowsInto: rows of f32 \[4, 3\] do not fit f32 \[2, 4\]/);
    expect(() => E.gatherRowsInto(x, E.tensor([0]), out, 0, 1, 0)).toThrow(/gatherRowsInto: index must be a 1-D i32 tensor/);
    const w = E.parameter(E.zeros([4, 3]));
    expect(() => E.gatherRowsInto(w, index, out, 0, 1, 0)).toThrow(/no gradient flows/);
  });
});

describe('i32 tensors (labels)', () => {
  const LABELS = Int32Array.from({ length: 33 }, (_, i) => (i * 7) % 10);
  const X = randArr([33, 5], 60);

  it('slice keeps the dtype and the exact values', async () => {
    const labels = E.tensor(LABELS);
    const part = E.slice(labels, [8], [-5]);
    expect(part.dtype).toBe('i32');
    const got = await part.data();
    expect(got).toBeInstanceOf(Int32Array);
    expect([...got]).toEqual([...LABELS.slice(8, 28)]);
    const two = E.slice(E.reshape(labels, [3, 11]), [1, 2], [3, 5]);
    expect([...(await two.data())]).toEqual([13, 14, 15, 24, 25, 26].map((i) => LABELS[i]));
  });

  it('a shuffled minibatch gathers matching rows and labels', async () => {
    const order = [31, 4, 4, 17, 0, 32, 9];
    const labels = E.tensor(LABELS);
    const batchLabels = E.gather(labels, idx(order));
    expect(batchLabels.dtype).toBe('i32');
    expect([...(await batchLabels.data())]).toEqual(order.map((i) => LABELS[i]));
    const rows = E.gather(toGpu(X), idx(order));
    expect([...(await rows.data())]).toEqual([...R.gather(X, order, 0).data]);
  });

  it('values beyond 2^24 and negatives survive bit-exactly (words are moved, never converted)', async () => {
    const v = Int32Array.from([2 ** 31 - 1, -(2 ** 31), 16777217, -1, 0, 123456789]);
    const t = E.tensor(v, [2, 3]);
    expect([...(await E.gather(t, idx([1, 0]), 0).data())]).toEqual([...v.slice(3), ...v.slice(0, 3)]);
    expect([...(await E.transpose(t).data())]).toEqual([v[0], v[3], v[1], v[4], v[2], v[5]]);
    expect([...(await E.concat([t, t], 1).data())]).toEqual([...v.slice(0, 3), ...v.slice(0, 3), ...v.slice(3), ...v.slice(3)]);
    expect([...(await E.expand(E.slice(t, [1], [2]), [2, 3]).data())]).toEqual([...v.slice(3), ...v.slice(3)]);
  });
});

describe('detach', () => {
  it('shares the values but cuts the gradient', async () => {
    const xa = randArr([7, 5], 70);
    const x = toGpu(xa);
    x.requiresGrad = true;
    const d = E.detach(x);
    expect(d.requiresGrad).toBe(false);
    expect(d.node).toBeNull();
    expect([...(await d.data())]).toEqual([...(await x.data())]);
    // y = x * x + x * detach(x): dy/dx = 2x + x (not 4x).
    E.backward(E.sum(E.add(E.mul(x, x), E.mul(x, d))));
    const g = await x.grad!.data();
    expect([...g]).toEqual([...xa.data].map((v) => Math.fround(3 * v)));
  });

  it('a loss reached only through detach has nothing to differentiate', () => {
    const x = E.zeros([3]);
    x.requiresGrad = true;
    expect(() => E.backward(E.sum(E.detach(x)))).toThrow(/backward: the tensor does not require grad/);
  });
});
