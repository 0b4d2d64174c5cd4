// Optimizers against a float64 TypeScript transcription of torch.optim's update rules (SGD with momentum and weight
// decay, Adam with L2 decay, AdamW with decoupled decay) over several steps with fixed gradients; zeroGrad works in
// place without allocating.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { expectClose, randArr, toGpu } from './support/harness.ts';
import { TOL } from './support/tolerances.ts';
import * as R from './support/reference.ts';
import type { Arr } from './support/reference.ts';

const ctx = useEngine();

const STEPS = 5;

interface Hyper {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** torch.optim.SGD (dampening 0, no Nesterov): g += wd p; buf = g at step 1, else momentum buf + g; p -= lr buf. */
function sgdRef(p0: Arr, grads: Arr[], h: Hyper): Float64Array {
  const p = Float64Array.from(p0.data);
  const buf = new Float64Array(p.length);
  const mom = h.momentum ?? 0;
  const wd = h.weightDecay ?? 0;
  grads.forEach((g, t) => {
    for (let i = 0; i < p.length; i++) {
      let d = g.data[i] + wd * p[i];
      if (mom !== 0) {
        buf[i] = t === 0 ? d : mom * buf[i] + d;
        d = buf[i];
      }
      p[i] -= h.lr * d;
    }
  });
  return p;
}

/**
 * torch.optim.Adam (decoupled = false: g += wd p) and torch.optim.AdamW (decoupled = true: p *= 1 - lr wd):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
function adamRef(p0: Arr, grads: Arr[], h: Hyper, decoupled: boolean, lrAt: (i: number, step: number) => number = () => h.lr): Float64Array {
  const p = Float64Array.from(p0.data);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const [b1, b2, eps] = [h.beta1 ?? 0.9, h.beta2 ?? 0.999, h.eps ?? 1e-8];
  const wd = h.weightDecay ?? (decoupled ? 0.01 : 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    for (let i = 0; i < p.length; i++) {
      const lr = lrAt(i, k);
      let gi = g.data[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else gi += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      p[i] -= (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps));
    }
  });
  return p;
}

type Make = (params: E.Tensor[], h: Hyper) => E.Optimizer;

/**
 * Run STEPS updates of three parameters with fixed per-step gradients, set through backward of sum(p * g_t) after a
 * zeroGrad, and compare the parameters with the float64 reference.
 */
async function runCase(make: Make, ref: (p0: Arr, grads: Arr[], h: Hyper) => Float64Array, h: Hyper, setToNone = false): Promise<void> {
  // 231, 5 and 1073 elements run the scalar kernels (1073 over five 256-thread workgroups), 24 and 1188 Adam's
  // four-at-a-time one (1188 over two workgroups of 1024 elements).
  const shapes = [[7, 33], [5], [4, 6], [37, 29], [33, 36]];
  const p0 = shapes.map((s, i) => randArr(s, 100 + i, -1, 1));
  // Gradients of mixed scales (including tiny ones, where Adam's eps matters) that change from step to step.
  const grads = shapes.map((s, i) =>
    Array.from({ length: STEPS }, (_, t) => randArr(s, 200 + 10 * i + t, -1, 1)).map((g, t) => {
      for (let j = 0; j < g.data.length; j++) g.data[j] = Math.fround(g.data[j] * 10 ** ((j % 5) - 3 + (t % 2)));
      return g;
    }),
  );
  const params = p0.map((a) => E.parameter(toGpu(a)));
  const opt = make(params, h);
  const gpuGrads = grads.map((gs) => gs.map(toGpu));
  for (let t = 0; t < STEPS; t++) {
    opt.zeroGrad({ setToNone });
    E.tidy(() => {
      const loss = params.map((p, i) => E.sum(E.mul(p, gpuGrads[i][t]))).reduce((a, b) => E.add(a, b));
      E.backward(loss);
    });
    opt.update();
  }
  expect(opt.step).toBe(STEPS);
  for (let i = 0; i < params.length; i++) {
    const want = ref(p0[i], grads[i], h);
    expectClose(await params[i].data(), want, TOL.forward, `parameter ${i} after ${STEPS} steps`);
    // The update really moved the parameter (a no-op optimizer would fail above only if the reference did not move).
    expect(want.some((v, j) => Math.abs(v - p0[i].data[j]) > 1e-3)).toBe(true);
  }
  opt.dispose();
  for (const p of params) p.dispose();
  for (const gs of gpuGrads) for (const g of gs) g.dispose();
}

describe('SGD', () => {
  const sgd: Make = (ps, h) => new E.SGD(ps, h);
  it('plain', () => runCase(sgd, sgdRef, { lr: 0.1 }));
  it('with momentum', () => runCase(sgd, sgdRef, { lr: 0.05, momentum: 0.9 }));
  it('with momentum and weight decay', () => runCase(sgd, sgdRef, { lr: 0.05, momentum: 0.8, weightDecay: 0.1 }));
  it('with weight decay only', () => runCase(sgd, sgdRef, { lr: 0.1, weightDecay: 0.3 }));
});

describe('Adam', () => {
  const adam: Make = (ps, h) => new E.Adam(ps, h);
  const ref = (p0: Arr, g: Arr[], h: Hyper): Float64Array => adamRef(p0, g, h, false);
  it('defaults', () => runCase(adam, ref, { lr: 0.01 }));
  it('defaults, gradients dropped between steps (zeroGrad setToNone)', () => runCase(adam, ref, { lr: 0.01 }, true));
  it('with L2 weight decay added to the gradient', () => runCase(adam, ref, { lr: 0.01, weightDecay: 0.1 }));
  it('other betas and eps', () => runCase(adam, ref, { lr: 0.05, beta1: 0.5, beta2: 0.9, eps: 1e-3, weightDecay: 0.01 }));
});

describe('AdamW', () => {
  const adamw: Make = (ps, h) => new E.AdamW(ps, h);
  const ref = (p0: Arr, g: Arr[], h: Hyper): Float64Array => adamRef(p0, g, h, true);
  it('default decoupled decay (0.01)', () => runCase(adamw, ref, { lr: 0.01 }));
  it('with strong decoupled decay', () => runCase(adamw, ref, { lr: 0.05, weightDecay: 0.5 }));
  it('differs from Adam with the same decay', async () => {
    const p = randArr([16], 300);
    const g = [randArr([16], 301)];
    const a = adamRef(p, g, { lr: 0.1, weightDecay: 0.5 }, false);
    const w = adamRef(p, g, { lr: 0.1, weightDecay: 0.5 }, true);
    expect(a.some((v, i) => Math.abs(v - w[i]) > 1e-3)).toBe(true);
    await runCase(adamw, ref, { lr: 0.1, weightDecay: 0.5 });
  });
});

describe('Adam with per-group learning rates (models stacked along axis 0)', () => {
  // 3 groups; factors change after step 2, one group is frozen from then on (a model whose epochs are over). Groups of
  // [4, 5] run the four-at-a-time kernel, [3, 7] the scalar one, [19, 23] the scalar one over several workgroups.
  const G = 3;
  const factorsAt = (step: number): number[] => (step < 2 ? [1, 0.5, 2] : [0.25, 0, 1]);
  for (const inner of [[4, 5], [3, 7], [19, 23]]) {
    const per = inner[0] * inner[1];
    for (const decoupled of [false, true]) {
      it(`${decoupled ? 'AdamW' : 'Adam'}, groups of ${JSON.stringify(inner)}`, async () => {
        const h: Hyper = { lr: 0.02, weightDecay: 0.1 };
        const p0 = randArr([G, ...inner], 500, -1, 1);
        const grads = Array.from({ length: STEPS }, (_, t) => randArr([G, ...inner], 510 + t, -1, 1));
        const p = E.parameter(toGpu(p0));
        const opt = decoupled ? new E.AdamW([p], { ...h, groups: G }) : new E.Adam([p], { ...h, groups: G });
        const gpuGrads = grads.map(toGpu);
        let frozen: Float32Array | null = null;
        for (let t = 0; t < STEPS; t++) {
          if (t === 0 || t === 2) opt.setGroupScale(factorsAt(t));
          if (t === 2) frozen = (await p.data()) as Float32Array;
          opt.zeroGrad();
          E.tidy(() => E.backward(E.sum(E.mul(p, gpuGrads[t]))));
          opt.update();
        }
        const want = adamRef(p0, grads, h, decoupled, (i, step) => h.lr * factorsAt(step)[Math.floor(i / per)]);
        const got = await p.data();
        expectClose(got, want, TOL.forward, 'grouped parameter');
        // The group frozen at step 2 kept exactly its step-2 weights; the others moved.
        expect([...got.subarray(per, 2 * per)]).toEqual([...frozen!.subarray(per, 2 * per)]);
        expect(want.some((v, i) => i >= 2 * per && Math.abs(v - frozen![i]) > 1e-3)).toBe(true);
        opt.dispose();
        p.dispose();
        for (const g of gpuGrads) g.dispose();
      });
    }
  }

  it('rejects a parameter whose leading axis is not the group count, and bad factors', () => {
    const a = E.parameter(E.zeros([3, 2]));
    const b = E.parameter(E.zeros([2, 3]));
    expect(() => new E.Adam([a, b], { lr: 0.1, groups: 3 })).toThrow(/Adam: 3 groups, but .* has leading axis 2 \(shape \[2, 3\]\)/);
    expect(() => new E.Adam([a], { lr: 0.1, groups: 0 })).toThrow(/groups must be a positive whole number/);
    const opt = new E.Adam([a], { lr: 0.1, groups: 3 });
    expect(() => opt.setGroupScale([1, 1])).toThrow(/needs 3 factors, got 2/);
    expect(() => opt.setGroupScale([1, -1, 1])).toThrow(/finite and >= 0/);
    expect(() => opt.setGroupScale([1, NaN, 1])).toThrow(/finite and >= 0/);
    opt.dispose();
    a.dispose();
    b.dispose();
  });
});

describe('optimizer bookkeeping', () => {
  it('zeroGrad({ setToNone }) drops the gradients; backward then hands over a buffer no other tensor views, and copies one that is shared', async () => {
    const a = E.parameter(toGpu(randArr([5, 3], 410)));
    const b = E.parameter(toGpu(randArr([5, 3], 411)));
    const c = E.parameter(toGpu(randArr([2], 412)));
    const opt = new E.SGD([a, b, c], { lr: 0.1 });
    E.tidy(() => E.backward(E.sum(E.mul(a, b))));
    opt.zeroGrad({ setToNone: true });
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    // d/da sum(a * 3b) = 3b: a fresh product, handed over. d/db sum(a + b) is the upstream ones, which the add's
    // backward returns for both inputs (one buffer, two views), so b gets a copy.
    E.tidy(() => E.backward(E.add(E.sum(E.mul(a, E.mul(b, 3))), E.sum(E.add(b, b)))));
    expectClose(await a.grad!.data(), R.map(randArr([5, 3], 411), (v) => 3 * v).data, TOL.forward, 'grad of a');
    expectClose(await b.grad!.data(), R.zipN([randArr([5, 3], 410)], (u) => 3 * u + 2).data, TOL.forward, 'grad of b');
    // c got no gradient: it stays without one, and the update leaves it alone.
    const c0 = [...(await c.data())];
    opt.update();
    expect(c.grad).toBeNull();
    expect([...(await c.data())]).toEqual(c0);
    // A second backward accumulates into the handed-over buffers.
    const before = await a.grad!.data();
    E.tidy(() => E.backward(E.sum(E.mul(a, 1))));
    expectClose(await a.grad!.data(), R.map(R.arr([15], before), (v) => v + 1).data, TOL.forward, 'accumulated grad of a');
    opt.dispose();
  });

  it('parameters without a gradient are left alone', async () => {
    const a = E.parameter(E.tensor([1, 2, 3]));
    const b = E.parameter(E.tensor([4, 5]));
    const opt = new E.Adam([a, b], { lr: 0.1 });
    E.backward(E.sum(E.mul(a, 2)));
    opt.update();
    expect([...(await b.data())]).toEqual([4, 5]);
    expect([...(await a.data())].every((v, i) => v < i + 1)).toBe(true);
    opt.dispose();
  });

  it('rejects parameters that are not f32 leaves requiring grad', () => {
    expect(() => new E.SGD([E.tensor([1, 2])], { lr: 0.1 })).toThrow(/optimizer: .* is not an f32 parameter/);
    const i = E.tensor(Int32Array.from([1, 2]));
    i.requiresGrad = true;
    expect(() => new E.SGD([i], { lr: 0.1 })).toThrow(/optimizer/);
  });

  it('zeroGrad zeroes in place: same tensor, same buffer, no allocation', async () => {
    const ps = [E.parameter(toGpu(randArr([33, 7], 400))), E.parameter(toGpu(randArr([7], 401)))];
    const opt = new E.SGD(ps, { lr: 0.1, momentum: 0.9 });
    E.tidy(() => E.backward(E.add(E.sum(E.mul(ps[0], ps[0])), E.sum(ps[1]))));
    opt.update();
    const grads = ps.map((p) => p.grad!);
    const buffers = grads.map((g) => g.buffer);
    expect((await grads[1].data()).every((v) => v === 1)).toBe(true);
    const before = ctx.engine.memory;
    opt.zeroGrad();
    expect(ctx.engine.memory.buffersCreated).toBe(before.buffersCreated);
    expect(ctx.engine.memory.bytesInUse).toBe(before.bytesInUse);
    ps.forEach((p, i) => {
      expect(p.grad).toBe(grads[i]);
      expect(p.grad!.buffer).toBe(buffers[i]);
    });
    for (const g of grads) expect((await g.data()).every((v) => v === 0)).toBe(true);
    // The engine-level zeroGrad is the same operation.
    E.tidy(() => E.backward(E.sum(ps[1])));
    const created = ctx.engine.memory.buffersCreated;
    E.zeroGrad(ps);
    expect(ctx.engine.memory.buffersCreated).toBe(created);
    expect(ps[1].grad).toBe(grads[1]);
    expect((await ps[1].grad!.data()).every((v) => v === 0)).toBe(true);
    // Gradients accumulate into the zeroed buffers again.
    E.tidy(() => E.backward(E.sum(E.mul(ps[1], 3))));
    expect(ps[1].grad!.buffer).toBe(buffers[1]);
    expect([...(await ps[1].grad!.data())]).toEqual(new Array(7).fill(3));
    opt.dispose();
  });
});
