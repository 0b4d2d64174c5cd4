// The ProbeX expert and its training machinery against float64 references: the encoder's forward (dense layers and
// LoRA pairs kept factored), its parameter gradients, the Dense baseline's weight blocks, gradient accumulation over
// micro-batches, the text head's cosine logits, checkpoints, and the errors bad input gets.
import { describe, it, expect } from 'vitest';
import { backward, bceWithLogits, keep, mul, noGrad, tensor, tidy, zeroGrad, type Tensor } from '../src/core/index.ts';
import { LayerData } from '../src/probex/data/dataset.ts';
import type { LayerMatrix } from '../src/probex/data/layers.ts';
import { ProbeX } from '../src/probex/methods/probex.ts';
import { Dense, EntryMoments } from '../src/probex/methods/dense.ts';
import { Expert } from '../src/probex/expert.ts';
import { seededRandom } from '../src/datasets/split.ts';
import { TOL, type Tol } from './support/tolerances.ts';
import { useEngine } from './support/engine.ts';
import { trainExpert, workBytesPerModel } from '../src/probex/train.ts';
import type { SplitData } from '../src/probex/data/split-data.ts';

const ctx = useEngine();

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol.atol + tol.rtol * Math.abs(want[i]))) throw new Error(`entry ${i}: got ${got[i]}, want ${want[i]}`);
  }
};

const randn = (n: number, rand: () => number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => scale * (rand() * 2 - 1));

/** float64 ProbeX: e = b + W vec(ReLU(V X U)) with probe-major flattening. */
function reference(x: Float64Array, rows: number, cols: number, U: Float32Array, V: Float32Array, W: Float32Array, b: Float32Array, r: number, p: number, rep: number): Float64Array {
  const P = new Float64Array(rows * r);
  for (let i = 0; i < rows; i++) for (let l = 0; l < r; l++) for (let j = 0; j < cols; j++) P[i * r + l] += x[i * cols + j] * U[j * r + l];
  const Q = new Float64Array(r * p);
  for (let l = 0; l < r; l++) for (let m = 0; m < p; m++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += V[m * rows + i] * P[i * r + l];
    Q[l * p + m] = Math.max(0, s);
  }
  const e = new Float64Array(rep);
  for (let t = 0; t < rep; t++) {
    let s = b[t];
    for (let k = 0; k < r * p; k++) s += W[t * r * p + k] * Q[k];
    e[t] = s;
  }
  return e;
}

async function values(t: Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as Float32Array);
}

describe('ProbeX encoder', () => {
  // Awkward sizes: a prime number of rows, cols not a multiple of any tile, probes and projection sizes of 1 and 3.
  for (const [rows, cols, r, p, rep, count] of [[7, 13, 3, 5, 4, 5], [1, 1, 1, 1, 1, 2], [31, 17, 8, 1, 3, 3]]) {
    it(`matches float64 on ${count} layers of ${rows} x ${cols} (r_U ${r}, r_V ${p}, r_T ${rep})`, async () => {
      const rand = seededRandom(rows * 100 + cols);
      const mats = Array.from({ length: count }, () => randn(rows * cols, rand));
      const data = LayerData.fromMatrices('w', count, (i): LayerMatrix => ({ kind: 'dense', rows, cols, data: mats[i] }));
      const enc = new ProbeX({ rows, cols, probes: r, proj: p, rep, seed: 3 });
      const [mb] = data.microBatches([...Array(count).keys()]);
      const out = noGrad(() => tidy(() => keep(enc.encode({ layer: data.batch(mb) }))));
      const got = await values(out);
      const [U, V, W, b] = await Promise.all([enc.probes, enc.proj, enc.encoder.weight, enc.encoder.bias!].map(values));
      const want = mats.flatMap((m) => [...reference(Float64Array.from(m), rows, cols, U, V, W, b, r, p, rep)]);
      close(got, want, TOL.accumulate);
      out.dispose();
      enc.dispose();
      data.dispose();
    });
  }

  it('probes a LoRA pair as up (down U), equal to probing X = up . down', async () => {
    const rand = seededRandom(9);
    const [rows, cols, rank, count] = [11, 19, 2, 4];
    const ups = Array.from({ length: count }, () => randn(rows * rank, rand));
    const downs = Array.from({ length: count }, () => randn(rank * cols, rand));
    const product = (i: number): Float32Array => {
      const x = new Float32Array(rows * cols);
      for (let o = 0; o < rows; o++) for (let k = 0; k < rank; k++) for (let j = 0; j < cols; j++) x[o * cols + j] += ups[i][o * rank + k] * downs[i][k * cols + j];
      return x;
    };
    const lora = LayerData.fromMatrices('l.lora', count, (i) => ({ kind: 'lora', rows, cols, rank, up: ups[i], down: downs[i] }));
    const dense = LayerData.fromMatrices('l', count, (i) => ({ kind: 'dense', rows, cols, data: product(i) }));
    const enc = new ProbeX({ rows, cols, probes: 5, proj: 3, rep: 4, seed: 1 });
    const run = async (d: LayerData): Promise<Float32Array> => {
      const out = noGrad(() => tidy(() => keep(enc.encode({ layer: d.batch(d.microBatches([0, 1, 2, 3])[0]) }))));
      const v = await values(out);
      out.dispose();
      return v;
    };
    close(await run(lora), await run(dense), TOL.accumulate);
    expect(lora.bytesPerModel).toBe(4 * rank * (rows + cols));
    // Micro-batches are sized by the widest per-model tensor a pass makes, not only by what is stored: ProbeX's
    // responses (rows x probes), a LoRA's dense form (Dense, z-score statistics); StatNN reads neither.
    expect(workBytesPerModel(lora, 'probex', 5)).toBe(4 * rows * 5);
    expect(workBytesPerModel(lora, 'dense-z', 5)).toBe(4 * rows * cols);
    expect(workBytesPerModel(lora, 'statnn', 5)).toBe(0);
    const budget = 4 * rows * cols * 2;
    expect(lora.microBatches([0, 1, 2, 3], budget).map((m) => m.global.length)).toEqual([4]);
    expect(lora.microBatches([0, 1, 2, 3], budget, workBytesPerModel(lora, 'dense', 5)).map((m) => m.global.length)).toEqual([2, 2]);
    [lora, dense].forEach((d) => d.dispose());
    enc.dispose();
  });

  it('accumulates the same gradients over micro-batches as over one batch, and they match finite differences', async () => {
    const rand = seededRandom(4);
    const [rows, cols, count, labels] = [5, 7, 6, 3];
    const mats = Array.from({ length: count }, () => randn(rows * cols, rand));
    const targets = Float32Array.from({ length: count * labels }, () => (rand() < 0.5 ? 1 : 0));
    // Shards of two models each, so a batch spans shards.
    const data = LayerData.fromMatrices('w', count, (i) => ({ kind: 'dense', rows, cols, data: mats[i] }), undefined, { maxShardBytes: 2 * 4 * rows * cols });
    expect(data.shards.length).toBe(3);
    const expert = new Expert({ method: 'probex', head: 'classes', task: 'multi-label', tree: 't', layer: 'w', labels: ['a', 'b', 'c'], encoder: { rows, cols, probes: 3, proj: 2, rep: 4, seed: 2 }, seed: 2 });
    const order = [4, 1, 0, 5, 3, 2];
    // One micro-batch of the whole batch across the three shards, its models grouped by shard, its layers gathered from
    // each shard and joined in that order.
    const [across, ...rest] = data.microBatches(order, 1 << 20);
    expect(rest.length).toBe(0);
    expect([...across.global]).toEqual([1, 0, 3, 2, 4, 5]);
    expect(across.parts.map((p) => [p.shard.start, ...p.local])).toEqual([[0, 1, 0], [2, 1, 0], [4, 0, 1]]);
    const joined = noGrad(() => tidy(() => keep((data.batch(across) as { x: Tensor }).x)));
    expect(joined.shape).toEqual([6, rows, cols]);
    expect([...(await values(joined))]).toEqual([1, 0, 3, 2, 4, 5].flatMap((g) => Array.from(mats[g]))); // a copy: exact
    joined.dispose();
    // Each micro-batch's mean loss weighted by its share of the batch: the sum is the batch's mean loss.
    const eachLoss = (maxBytes: number, use: (loss: Tensor) => void): void => {
      for (const mb of data.microBatches(order, maxBytes)) {
        tidy(() => {
          const logits = expert.classHead!.forward(expert.encoder.encode({ layer: data.batch(mb) }));
          const y = tensor(Float32Array.from(Array.from(mb.global).flatMap((g) => Array.from(targets.subarray(g * labels, (g + 1) * labels)))), [mb.global.length, labels]);
          use(mul(bceWithLogits(logits, y), mb.global.length / count));
        });
      }
    };
    const grads = async (maxBytes: number): Promise<Float32Array[]> => {
      zeroGrad(expert.parameters());
      eachLoss(maxBytes, (l) => backward(l));
      return Promise.all(expert.parameters().map((p) => values(p.grad!)));
    };
    const total = async (): Promise<number> => {
      const parts: Tensor[] = [];
      noGrad(() => eachLoss(1 << 20, (l) => parts.push(keep(l))));
      let s = 0;
      for (const l of parts) {
        s += await l.item();
        l.dispose();
      }
      return s;
    };
    const one = await grads(1 << 20);
    const many = await grads(4 * rows * cols); // one model per micro-batch
    one.forEach((g, i) => close(many[i], g, TOL.grad));
    // Finite differences on a few entries of the probes U.
    const U = expert.parameters()[0];
    const base = await values(U);
    for (const k of [0, 7, base.length - 1]) {
      const h = 1e-2;
      const at = (v: number): Float32Array => base.map((x, i) => (i === k ? v : x));
      U.engine.upload(U.buffer, at(base[k] + h));
      const up = await total();
      U.engine.upload(U.buffer, at(base[k] - h));
      const down = await total();
      U.engine.upload(U.buffer, base);
      close([(up - down) / (2 * h)], [one[0][k]], TOL.finiteDiff);
    }
    expert.dispose();
    data.dispose();
  });
});

describe('Dense baseline', () => {
  it('splits its weight into row blocks that sum to the one-block result', async () => {
    const rand = seededRandom(12);
    const [rows, cols, out, count] = [9, 5, 3, 4];
    const mats = Array.from({ length: count }, () => randn(rows * cols, rand));
    const data = LayerData.fromMatrices('w', count, (i) => ({ kind: 'dense', rows, cols, data: mats[i] }));
    const blocked = new Dense({ rows, cols, out, seed: 1, zscore: false }, { maxBlockBytes: 4 * out * cols * 4 });
    expect(blocked.blocks.length).toBe(3); // 4 rows per block: 4 + 4 + 1
    const y = noGrad(() => tidy(() => keep(blocked.encode({ layer: data.batch(data.microBatches([0, 1, 2, 3])[0]) }))));
    const got = await values(y);
    const w = (await Promise.all(blocked.blocks.map(values))).map((b, k) => ({ b, r0: k * 4, n: b.length / out / cols }));
    const bias = await values(blocked.bias);
    const want: number[] = [];
    for (const m of mats) for (let o = 0; o < out; o++) {
      let s = bias[o];
      for (const { b, r0, n } of w) for (let i = 0; i < n * cols; i++) s += b[o * n * cols + i] * m[r0 * cols + i];
      want.push(s);
    }
    close(got, want, TOL.accumulate);
    y.dispose();
    blocked.dispose();
    data.dispose();
  });
});

describe('Dense on z-scored weights', () => {
  it('z-scores each entry with the mean and std over the training models, then applies the linear map', async () => {
    const rand = seededRandom(21);
    const [rows, cols, out, count] = [3, 4, 2, 5];
    const mats = Array.from({ length: count }, () => randn(rows * cols, rand, 3));
    const moments = new EntryMoments(rows * cols);
    mats.forEach((m) => moments.add(m));
    const stats = moments.result();
    for (let i = 0; i < rows * cols; i++) {
      const mu = mats.reduce((a, m) => a + m[i], 0) / count;
      const sd = Math.sqrt(mats.reduce((a, m) => a + (m[i] - mu) ** 2, 0) / count);
      close([stats.mean[i], stats.std[i]], [mu, sd], TOL.accumulate);
    }
    const data = LayerData.fromMatrices('w', count, (i) => ({ kind: 'dense', rows, cols, data: mats[i] }));
    const dense = new Dense({ rows, cols, out, seed: 4, zscore: true });
    expect(() => dense.encode({ layer: data.batch(data.microBatches([0])[0]) })).toThrow(/z-score statistics were not set/);
    dense.setStats(stats);
    const y = noGrad(() => tidy(() => keep(dense.encode({ layer: data.batch(data.microBatches([...Array(count).keys()])[0]) }))));
    const [w, b] = await Promise.all([values(dense.blocks[0]), values(dense.bias)]);
    const want = mats.flatMap((m) => Array.from({ length: out }, (_, o) => b[o] + m.reduce((a, v, i) => a + w[o * rows * cols + i] * ((v - stats.mean[i]) / (stats.std[i] + 1e-8)), 0)));
    close(await values(y), want, TOL.accumulate);
    y.dispose();
    dense.dispose();
    data.dispose();
  });
});

describe('training an expert', () => {
  it('reads the epoch losses back only at validations, the same losses as reading every epoch', async () => {
    const rand = seededRandom(91);
    const n = 20;
    const labels = ['a', 'b', 'c', 'd'];
    const targets = Float32Array.from({ length: n * labels.length }, () => (rand() < 0.5 ? 1 : 0));
    const layer = LayerData.fromMatrices('w', n, (): LayerMatrix => ({ kind: 'dense', rows: 8, cols: 6, data: randn(48, rand) }));
    const train: SplitData = { samples: [], targets, classIndex: new Int32Array(n).fill(-1), labels, layer };
    const run = async (validateEvery: number): Promise<{ losses: number[]; reads: number }> => {
      const before = ctx.engine.counters.reads;
      const r = await trainExpert({ method: 'probex', head: 'classes', task: 'multi-label', tree: 't', train, val: null, config: { epochs: 7, validateEvery, batch: 8, probes: 4, proj: 3, rep: 5 } });
      const reads = ctx.engine.counters.reads - before;
      r.expert.dispose();
      return { losses: r.history.map((h) => h.loss), reads };
    };
    const every = await run(1);
    const batched = await run(3);
    expect(every.reads).toBe(7);
    expect(batched.reads).toBe(3); // epochs 3, 6 and the last
    expect(batched.losses).toHaveLength(7);
    expect(batched.losses.every(Number.isFinite)).toBe(true);
    expect(batched.losses).toEqual(every.losses);
    expect(batched.losses[6]).toBeLessThan(batched.losses[0]);
    layer.dispose();
  });
});

describe('checkpoints and errors', () => {
  it('saves and loads an expert with its config, and refuses a file that is not one', async () => {
    const spec = { method: 'probex' as const, head: 'text' as const, task: 'single' as const, tree: 't', layer: 'w', labels: ['a', 'b'], encoder: { rows: 3, cols: 4, probes: 2, proj: 2, rep: 3, seed: 5 }, textDim: 6, textEncoder: 'test', seed: 5 };
    const a = new Expert(spec);
    const bytes = await a.save();
    const b = Expert.load(bytes, 'mem');
    expect(b.spec).toEqual(spec);
    for (const [[n, p], [m, q]] of a.namedParameters().map((x, i) => [x, b.namedParameters()[i]] as const)) {
      expect(m).toBe(n);
      expect(Array.from(await values(q))).toEqual(Array.from(await values(p)));
    }
    a.dispose();
    b.dispose();
    const { encodeSafetensors } = await import('../src/core/index.ts');
    expect(() => Expert.load(encodeSafetensors([], { format: 'other' }), 'x.safetensors')).toThrow(/x\.safetensors: not a ProbeX expert checkpoint/);
  });

  it('names the problem: mismatched layer shapes, bad sizes', () => {
    const m = (rows: number): LayerMatrix => ({ kind: 'dense', rows, cols: 2, data: new Float32Array(rows * 2) });
    expect(() => LayerData.fromMatrices('w', 2, (i) => m(i === 0 ? 3 : 4), (i) => `file${i}`)).toThrow(/file1: layer "w" is dense 4 x 2, but file0 has dense 3 x 2/);
    expect(() => new ProbeX({ rows: 3, cols: 2, probes: 0, proj: 1, rep: 1, seed: 1 })).toThrow(/probes must be a positive whole number/);
  });
});
