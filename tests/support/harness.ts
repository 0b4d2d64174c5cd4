// The op checker: runs an op on the GPU, compares its forward with the float64 reference, then its backward with
// (1) the float64 reference gradient (central differences of the float64 reference, exact to ~1e-10) and
// (2) central finite differences of the GPU's own f32 forward on sampled coordinates.
import { expect } from 'vitest';
import { backward, mul, noGrad, sum, tensor, tidy, type Tensor } from '../../src/node/index.ts';
import { TOL, type Tol } from './tolerances.ts';
import { seededRandom } from '../../src/datasets/split.ts';
import { arr, type Arr } from './reference.ts';

/** A small deterministic generator for test inputs (mulberry32, shared with the datasets' splits). */
export const rng = seededRandom;

/** Random values in [low, high), rounded to f32 so the reference sees exactly what the GPU sees. */
export function randArr(shape: readonly number[], seed: number, low = -1, high = 1): Arr {
  const r = rng(seed);
  const a = arr(shape);
  for (let i = 0; i < a.data.length; i++) a.data[i] = Math.fround(low + (high - low) * r());
  return a;
}

export function toGpu(a: Arr): Tensor {
  return tensor(Float32Array.from(a.data), a.shape);
}

/** Assert |got - want| <= atol + rtol |want| elementwise, reporting the worst element. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    const excess = err - (tol.atol + tol.rtol * Math.abs(want[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (rtol ${tol.rtol}, atol ${tol.atol})`);
  }
}

export interface OpCase {
  name: string;
  inputs: Arr[];
  gpu: (...xs: Tensor[]) => Tensor;
  ref: (...xs: Arr[]) => Arr;
  /** Which inputs are differentiated (default: all). */
  grad?: boolean[];
  forwardTol?: Tol;
  gradTol?: Tol;
  /** Coordinates per input checked by f32 finite differences. */
  fdSamples?: number;
  seed?: number;
}

function weightedLoss(y: Arr, w: Arr): number {
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += y.data[i] * w.data[i];
  return s;
}

/** Float64 central difference of sum(ref(xs) * w) with respect to element j of xs[k]. */
function referencePartial(c: OpCase, w: Arr, k: number, j: number, h: number): number {
  const x = c.inputs[k];
  const orig = x.data[j];
  const step = h * Math.max(1, Math.abs(orig));
  x.data[j] = orig + step;
  const lp = weightedLoss(c.ref(...c.inputs), w);
  x.data[j] = orig - step;
  const lm = weightedLoss(c.ref(...c.inputs), w);
  x.data[j] = orig;
  return (lp - lm) / (2 * step);
}

function referenceGradient(c: OpCase, w: Arr, k: number): Float64Array {
  return Float64Array.from(c.inputs[k].data, (_, j) => referencePartial(c, w, k, j, TOL.refStep));
}

async function gpuForward(c: OpCase, inputs: Arr[]): Promise<Float32Array> {
  const y = noGrad(() => tidy(() => c.gpu(...inputs.map(toGpu))));
  const d = (await y.data()) as Float32Array;
  y.dispose();
  return d;
}

export async function checkOp(c: OpCase): Promise<void> {
  const seed = c.seed ?? 1234;
  const want = c.ref(...c.inputs);
  const grads = c.grad ?? c.inputs.map(() => true);
  const xs = c.inputs.map(toGpu);
  xs.forEach((t, i) => (t.requiresGrad = grads[i]));
  const owned: Tensor[] = [...xs];
  try {
    const w = randArr(want.shape, seed + 1);
    const wt = toGpu(w);
    owned.push(wt);
    // Forward and backward inside one tidy: the intermediates that backward rules read live until it ends.
    const y = tidy(() => {
      const out = c.gpu(...xs);
      if (out.requiresGrad) backward(sum(mul(out, wt)));
      return out;
    });
    owned.push(y);
    expect([...y.shape], `${c.name}: output shape`).toEqual(want.shape);
    expectClose(await y.data(), want.data, c.forwardTol ?? TOL.forward, `${c.name} forward`);
    if (!grads.some(Boolean)) return;

    for (let k = 0; k < xs.length; k++) {
      if (!grads[k]) continue;
      const x = xs[k];
      expect(x.grad, `${c.name}: input ${k} got no gradient`).not.toBeNull();
      const got = (await x.grad!.data()) as Float32Array;
      const ref = referenceGradient(c, w, k);
      expectClose(got, ref, c.gradTol ?? TOL.grad, `${c.name} grad of input ${k} vs float64 reference`);

      // f32 finite differences at sampled coordinates where the op is smooth at the step's scale (away from
      // kinks such as relu at 0 or ties in max), judged on the float64 reference.
      const r = rng(seed + 17 * k);
      const n = c.inputs[k].data.length;
      const picks: number[] = [];
      for (let tries = 0; picks.length < Math.min(c.fdSamples ?? 6, n) && tries < 20 * n; tries++) {
        const j = Math.floor(r() * n);
        if (picks.includes(j)) continue;
        const coarse = referencePartial(c, w, k, j, TOL.fdStep);
        if (Math.abs(coarse - ref[j]) > 1e-3 * (1 + Math.abs(ref[j]))) continue;
        picks.push(j);
      }
      expect(picks.length, `${c.name}: no smooth coordinates to check`).toBeGreaterThan(0);
      const fd: number[] = [];
      for (const j of picks) {
        const orig = c.inputs[k].data[j];
        const step = TOL.fdStep * Math.max(1, Math.abs(orig));
        const plus = c.inputs.map((a, i) => (i === k ? { shape: a.shape, data: a.data.slice() } : a));
        const minus = c.inputs.map((a, i) => (i === k ? { shape: a.shape, data: a.data.slice() } : a));
        plus[k].data[j] = Math.fround(orig + step);
        minus[k].data[j] = Math.fround(orig - step);
        const yp = await gpuForward(c, plus);
        const ym = await gpuForward(c, minus);
        // The loss difference is formed in float64 from the f32 outputs, so only their own rounding remains.
        let diff = 0;
        for (let i = 0; i < yp.length; i++) diff += (yp[i] - ym[i]) * w.data[i];
        fd.push(diff / (plus[k].data[j] - minus[k].data[j]));
      }
      expectClose(picks.map((j) => got[j]), fd, TOL.finiteDiff, `${c.name} grad of input ${k} vs f32 finite differences`);
    }
  } finally {
    for (const t of owned) t.dispose();
  }
}
