// The zoo's batched tiny ViT: state-dict names and shapes, per-seed init, models that do not see each other in a
// batch, a float64 CPU reference forward (timm's conventions written out in loops), and training that lowers the loss.
import { describe, it, expect } from 'vitest';
import { keep, noGrad, tensor, tidy } from '../src/core/index.ts';
import { seededRandom } from '../src/datasets/split.ts';
import { BatchedVit, VIT_LN_EPS, vitParams, type VitShape } from '../src/probex/zoo/models/vit.ts';
import { unstack, type StateDict } from '../src/probex/zoo/models/batched.ts';
import { classifierArch } from '../src/probex/zoo/models/registry.ts';
import { evaluateClassifiers, trainClassifiers } from '../src/probex/zoo/train.ts';
import { gelu } from './support/reference.ts';
import { useEngine } from './support/engine.ts';

const ctx = useEngine();

const PIXELS = 784;

/** Logits [M, B, classes] of a batch x [M, B, 784], read back. */
async function logitsOf(model: BatchedVit, x: Float32Array, batch: number): Promise<Float32Array> {
  const out = noGrad(() => tidy(() => keep(model.forward(tensor(x, [model.count, batch, PIXELS])))));
  expect(out.shape).toEqual([model.count, batch, model.shape.classes]);
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

function randomImages(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n * PIXELS }, () => (r() < 0.7 ? 0 : r()));
}

/** A state dict with every parameter random (LayerNorm weights near 1), so that no tensor is trivially shared. */
function randomState(shape: VitShape, seed: number): StateDict {
  const r = seededRandom(seed);
  const u = (b: number): number => (2 * r() - 1) * b;
  const st: StateDict = new Map();
  for (const p of vitParams(shape)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const isNorm = /norm[12]?\./.test(p.name);
    const value = (): number => {
      if (isNorm) return p.name.endsWith('.weight') ? 1 + u(0.3) : u(0.2);
      if (p.name === 'cls_token' || p.name === 'pos_embed') return u(0.5);
      if (p.name.endsWith('.bias')) return u(0.2);
      return u(1.5 / Math.sqrt(p.shape[1]));
    };
    st.set(p.name, { shape: [...p.shape], data: Float32Array.from({ length: n }, value) });
  }
  return st;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** One model's logits for one image in float64, written independently of the GPU code with timm's layouts. */
function referenceForward(st: StateDict, s: VitShape, img: ArrayLike<number>): number[] {
  const get = (name: string): Float32Array => {
    const v = st.get(name);
    if (!v) throw new Error(`no ${name}`);
    return v.data;
  };
  const D = s.dim;
  const linear = (rows: number[][], name: string): number[][] => {
    const w = get(`${name}.weight`);
    const b = get(`${name}.bias`);
    const outF = b.length;
    const inF = w.length / outF;
    return rows.map((x) => Array.from({ length: outF }, (_, o) => {
      let acc = b[o];
      for (let i = 0; i < inF; i++) acc += w[o * inF + i] * x[i];
      return acc;
    }));
  };
  const layerNorm = (rows: number[][], name: string): number[][] => {
    const w = get(`${name}.weight`);
    const b = get(`${name}.bias`);
    return rows.map((x) => {
      const mu = x.reduce((a, v) => a + v, 0) / x.length;
      const v = x.reduce((a, t) => a + (t - mu) ** 2, 0) / x.length;
      return x.map((t, i) => ((t - mu) / Math.sqrt(v + VIT_LN_EPS)) * w[i] + b[i]);
    });
  };
  // 16 patches, row-major over the 4 x 4 grid; pixels row-major within each 7 x 7 patch.
  const patches: number[][] = [];
  for (let p = 0; p < 16; p++) {
    const pr = Math.floor(p / 4);
    const pc = p % 4;
    const row: number[] = [];
    for (let r = 0; r < 7; r++) for (let c = 0; c < 7; c++) row.push(img[(pr * 7 + r) * 28 + pc * 7 + c]);
    patches.push(row);
  }
  const cls = get('cls_token');
  const pos = get('pos_embed');
  let h = [Array.from(cls), ...linear(patches, 'patch_embed')].map((t, i) => t.map((v, d) => v + pos[i * D + d]));
  const T = h.length;
  const H = s.heads;
  const dh = D / H;
  for (let blk = 0; blk < s.depth; blk++) {
    const pre = `blocks.${blk}`;
    // qkv output features ordered [3, heads, dh], as timm's qkv(x).reshape(B, N, 3, heads, dh).
    const qkv = linear(layerNorm(h, `${pre}.norm1`), `${pre}.attn.qkv`);
    const merged = Array.from({ length: T }, () => new Array<number>(D).fill(0));
    for (let hd = 0; hd < H; hd++) {
      const at = (t: number, which: number, d: number): number => qkv[t][which * D + hd * dh + d];
      for (let i = 0; i < T; i++) {
        const scores = Array.from({ length: T }, (_, j) => {
          let acc = 0;
          for (let d = 0; d < dh; d++) acc += at(i, 0, d) * at(j, 1, d);
          return acc / Math.sqrt(dh);
        });
        const mx = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - mx));
        const z = e.reduce((a, v) => a + v, 0);
        for (let d = 0; d < dh; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += (e[j] / z) * at(j, 2, d);
          merged[i][hd * dh + d] = acc;
        }
      }
    }
    const attn = linear(merged, `${pre}.attn.proj`);
    h = h.map((t, i) => t.map((v, d) => v + attn[i][d]));
    const hidden = linear(layerNorm(h, `${pre}.norm2`), `${pre}.mlp.fc1`).map((t) => t.map(gelu));
    const mlp = linear(hidden, `${pre}.mlp.fc2`);
    h = h.map((t, i) => t.map((v, d) => v + mlp[i][d]));
  }
  return linear(layerNorm([h[0]], 'norm'), 'head')[0];
}

describe('batched ViT', () => {
  it('has timm-style state-dict names and shapes, Linear weights [out, in], stacked on a model axis', () => {
    const shape: VitShape = { dim: 16, depth: 2, heads: 4, mlpDim: 32, classes: 7 };
    const model = BatchedVit.create(shape, [1, 2]);
    const want: [string, number[]][] = [
      ['patch_embed.weight', [16, 49]], ['patch_embed.bias', [16]],
      ['cls_token', [1, 1, 16]], ['pos_embed', [1, 17, 16]],
    ];
    for (let i = 0; i < 2; i++) {
      want.push(
        [`blocks.${i}.norm1.weight`, [16]], [`blocks.${i}.norm1.bias`, [16]],
        [`blocks.${i}.attn.qkv.weight`, [48, 16]], [`blocks.${i}.attn.qkv.bias`, [48]],
        [`blocks.${i}.attn.proj.weight`, [16, 16]], [`blocks.${i}.attn.proj.bias`, [16]],
        [`blocks.${i}.norm2.weight`, [16]], [`blocks.${i}.norm2.bias`, [16]],
        [`blocks.${i}.mlp.fc1.weight`, [32, 16]], [`blocks.${i}.mlp.fc1.bias`, [32]],
        [`blocks.${i}.mlp.fc2.weight`, [16, 32]], [`blocks.${i}.mlp.fc2.bias`, [16]],
      );
    }
    want.push(['norm.weight', [16]], ['norm.bias', [16]], ['head.weight', [7, 16]], ['head.bias', [7]]);
    expect([...model.params].map(([n, t]) => [n, t.shape])).toEqual(want.map(([n, s]) => [n, [2, ...s]]));
    expect(vitParams(shape).map((p) => [p.name, p.shape])).toEqual(want);
    for (const t of model.params.values()) expect(t.requiresGrad).toBe(true);
    model.dispose();
    expect(() => BatchedVit.create({ ...shape, heads: 3 }, [1])).toThrow(/dim 16 is not a multiple of heads 3/);
  });

  it('initializes like PyTorch, each model from its own seed; fine-tunes copy all but a per-seed head', async () => {
    const shape: VitShape = { dim: 32, depth: 1, heads: 2, mlpDim: 64, classes: 5 };
    const two = BatchedVit.create(shape, [7, 8]);
    const one = BatchedVit.create(shape, [8]);
    const [a, b] = await unstack(two);
    const [b1] = await unstack(one);
    two.dispose();
    one.dispose();
    for (const p of vitParams(shape)) {
      const va = a.get(p.name)!.data;
      // Slot 1 depends on its seed alone.
      expect(b.get(p.name)!.data, p.name).toEqual(b1.get(p.name)!.data);
      if (/norm[12]?\.weight$/.test(p.name)) expect(va.every((v) => v === 1), p.name).toBe(true);
      else if (/norm[12]?\.bias$/.test(p.name)) expect(va.every((v) => v === 0), p.name).toBe(true);
      else if (p.name === 'cls_token' || p.name === 'pos_embed') {
        const std = Math.sqrt(va.reduce((s, v) => s + v * v, 0) / va.length);
        expect(std, p.name).toBeGreaterThan(0.01);
        expect(std, p.name).toBeLessThan(0.03);
      } else {
        const fanIn = p.name.endsWith('.weight') ? p.shape[1] : vitParams(shape).find((q) => q.name === p.name.replace(/bias$/, 'weight'))!.shape[1];
        const bound = 1 / Math.sqrt(fanIn);
        expect(va.every((v) => Math.abs(v) <= bound), p.name).toBe(true);
        if (va.length >= 32) expect(Math.max(...va.map(Math.abs)), p.name).toBeGreaterThan(0.8 * bound);
        expect(va, p.name).not.toEqual(b.get(p.name)!.data);
      }
    }
    const tuned = BatchedVit.fromBase(a, shape, [3, 4]);
    const solo = BatchedVit.fromBase(a, shape, [4]);
    const [t0, t1] = await unstack(tuned);
    const [s0] = await unstack(solo);
    tuned.dispose();
    solo.dispose();
    for (const p of vitParams(shape)) {
      if (p.name.startsWith('head.')) {
        expect(t0.get(p.name)!.data, p.name).not.toEqual(t1.get(p.name)!.data);
        expect(t0.get(p.name)!.data, p.name).not.toEqual(a.get(p.name)!.data);
        expect(t1.get(p.name)!.data, p.name).toEqual(s0.get(p.name)!.data);
      } else {
        expect(t0.get(p.name)!.data, p.name).toEqual(a.get(p.name)!.data);
        expect(t1.get(p.name)!.data, p.name).toEqual(a.get(p.name)!.data);
      }
    }
    expect(() => BatchedVit.fromBase(new Map(), shape, [1])).toThrow(/base lacks patch_embed\.weight/);
  });

  it('runs 3 models in one batch exactly as each alone', async () => {
    const shape: VitShape = { dim: 16, depth: 2, heads: 2, mlpDim: 24, classes: 5 };
    const B = 4;
    const x = randomImages(3 * B, 5);
    for (const batched of [BatchedVit.create(shape, [11, 22, 33]), BatchedVit.fromStates([1, 2, 3].map((s) => randomState(shape, s)), shape)]) {
      const all = await logitsOf(batched, x, B);
      const states = await unstack(batched);
      batched.dispose();
      const per = B * shape.classes;
      for (let m = 0; m < 3; m++) {
        const single = BatchedVit.fromStates([states[m]], shape);
        const alone = await logitsOf(single, x.subarray(m * B * PIXELS, (m + 1) * B * PIXELS), B);
        single.dispose();
        // The same arithmetic per slot; only a different kernel choice for another batch size could round differently.
        expect(maxDiff(all.subarray(m * per, (m + 1) * per), alone)).toBeLessThan(1e-5 * Math.max(1, ...Array.from(alone, Math.abs)));
      }
      // The models really differ, so a mix-up between slots would show.
      expect(maxDiff(all.subarray(0, per), all.subarray(per, 2 * per))).toBeGreaterThan(1e-3);
    }
  });

  it('matches a float64 CPU reference forward', async () => {
    const shape: VitShape = { dim: 8, depth: 2, heads: 2, mlpDim: 12, classes: 3 };
    const B = 3;
    const st = randomState(shape, 42);
    const model = BatchedVit.fromStates([st], shape);
    const x = randomImages(B, 9);
    const got = await logitsOf(model, x, B);
    model.dispose();
    const want = Array.from({ length: B }, (_, i) => referenceForward(st, shape, x.subarray(i * PIXELS, (i + 1) * PIXELS))).flat();
    const scale = Math.max(...want.map(Math.abs));
    expect(scale).toBeGreaterThan(0.1);
    // f32 against float64 through two blocks: errors of order 1e-7 relative to the logits' scale.
    expect(maxDiff(got, want)).toBeLessThan(1e-5 * Math.max(1, scale));
  });

  it('trains: a few steps on two classes of random drawings lower the loss, for each model separately', async () => {
    const shape: VitShape = { dim: 16, depth: 1, heads: 2, mlpDim: 32, classes: 2 };
    // Class 0 has its ink in the top half, class 1 in the bottom half.
    const n = 64;
    const r = seededRandom(3);
    const data = new Float32Array(n * PIXELS);
    const cls = Int32Array.from({ length: n }, (_, i) => i % 2);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < PIXELS; p++) {
        const top = p < PIXELS / 2;
        if ((top ? 0 : 1) === cls[i] && r() < 0.3) data[i * PIXELS + p] = r();
      }
    }
    const images = tensor(data, [n, PIXELS]);
    const model = classifierArch({ kind: 'vit', dim: 16, depth: 1, heads: 2, mlpDim: 32 }).create({ kind: 'vit', dim: 16, depth: 1, heads: 2, mlpDim: 32 }, 2, [5, 6]);
    expect(model).toBeInstanceOf(BatchedVit);
    expect((model as BatchedVit).shape).toEqual(shape);
    const items = Int32Array.from({ length: n }, (_, i) => i);
    // Model 1 learns the flipped labels: each model follows its own.
    const labels = [cls, Int32Array.from(cls, (c) => 1 - c)];
    const losses: number[] = [];
    await trainClassifiers(model, images, { items: [items, items], labels, seeds: [1, 2] }, { epochs: 6, lr: 3e-3, batch: 16, readEvery: 1, onEpoch: (_, l) => losses.push(l) });
    const acc = await evaluateClassifiers(model, images, { items: [items, items], labels });
    model.dispose();
    images.dispose();
    expect(losses).toHaveLength(6);
    expect(losses[0]).toBeLessThan(1);
    expect(losses[5]).toBeLessThan(0.5 * losses[0]);
    for (const a of acc) expect(a).toBeGreaterThan(0.8);
  });

  it('frees every buffer it made: init, fine-tune copies, training and evaluation', async () => {
    const shape: VitShape = { dim: 16, depth: 1, heads: 2, mlpDim: 32, classes: 3 };
    const images = tensor(randomImages(12, 4), [12, PIXELS]);
    const before = ctx.engine.memory.bytesInUse;
    const base = BatchedVit.create(shape, [1]);
    const [state] = await unstack(base);
    base.dispose();
    const model = BatchedVit.fromBase(state, shape, [2, 3]);
    const items = Int32Array.from({ length: 12 }, (_, i) => i);
    const labels = Int32Array.from(items, (i) => i % 3);
    await trainClassifiers(model, images, { items: [items, items], labels: [labels, labels], seeds: [1, 2] }, { epochs: 1, lr: 1e-3, batch: 4 });
    await evaluateClassifiers(model, images, { items: [items, items], labels: [labels, labels] });
    model.dispose();
    expect(ctx.engine.memory.bytesInUse).toBe(before);
    images.dispose();
  });

  it('is registered as the vit architecture', () => {
    const arch = classifierArch({ kind: 'vit', dim: 16, depth: 1, heads: 2, mlpDim: 32 });
    expect(arch.describe({ kind: 'vit', dim: 16, depth: 1, heads: 2, mlpDim: 32 }, 50)).toBe('vit 7x7 d16 L1 h2 mlp32 -> 50');
    expect(() => arch.create({ kind: 'mlp', hidden: [8] }, 2, [1])).toThrow(/a mlp spec given to the vit architecture/);
  });
});
