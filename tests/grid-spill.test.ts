// Launches larger than one grid dimension: past 65,535 workgroups the engine spills the rest of a 1-D kernel's grid
// into y, and every such kernel must fold y back into its index. Checked on the kernels the other op tests only run
// on small grids (unary, broadcast binary and where, their backward, Adam, layerNorm), on sizes that are not multiples of
// 4 (the scalar kernels), against float64 at sampled elements and all of the last workgroups. Tolerance: TOL.forward.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { expectClose } from './support/harness.ts';
import { seededRandom } from '../src/datasets/split.ts';
import { TOL } from './support/tolerances.ts';

const ctx = useEngine();

/** Indices to check: every 7,919th, and the last 3,000 (the workgroups the y dimension adds). */
function sampled(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n - 3000; i += 7919) out.push(i);
  for (let i = Math.max(0, n - 3000); i < n; i++) out.push(i);
  return out;
}

function random(n: number, seed: number, low: number, high: number): Float32Array {
  const r = seededRandom(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = low + (high - low) * r();
  return a;
}

const pick = (a: ArrayLike<number>, idx: number[]): number[] => idx.map((i) => a[i]);

describe('kernels over more than 65,535 workgroups', () => {
  // 65,535 * 256 + 1,027 elements: the grid needs a second row of workgroups; odd, so no four-at-a-time kernel.
  const N = 65535 * 256 + 1027;

  it('needs the spill: the size is past one dimension of 256-thread workgroups', () => {
    expect(N).toBeGreaterThan(ctx.engine.device.limits.maxComputeWorkgroupsPerDimension * 256);
  });

  it('unary (exp) and broadcast binary (mul by a [1] tensor), forward and backward', async () => {
    const x = random(N, 1, -2, 2);
    const idx = sampled(N);
    const t = E.parameter(E.tensor(x, [N]));
    const c = E.tensor(Float32Array.from([1.5]), [1]);
    const y = E.mul(E.exp(t), c);
    expectClose(pick(await y.data(), idx), idx.map((i) => 1.5 * Math.exp(x[i])), TOL.forward, 'exp(x) * 1.5');
    E.backward(E.sum(y));
    expectClose(pick(await t.grad!.data(), idx), idx.map((i) => 1.5 * Math.exp(x[i])), TOL.forward, 'd sum(exp(x) * 1.5) / dx');
    for (const z of [t, c, y]) z.dispose();
  });

  it('where with a broadcast operand', async () => {
    const x = random(N, 2, -1, 1);
    const idx = sampled(N);
    const a = E.tensor(x, [N]);
    const cond = E.gt(a, 0);
    const out = E.where(cond, a, E.tensor(Float32Array.from([7]), [1]));
    expectClose(pick(await out.data(), idx), idx.map((i) => (x[i] > 0 ? x[i] : 7)), TOL.forward, 'where(x > 0, x, 7)');
    for (const z of [a, cond, out]) z.dispose();
  });

  it('Adam, one step over every element', async () => {
    const p0 = random(N, 4, -1, 1);
    const g = random(N, 5, -1, 1);
    const idx = sampled(N);
    const p = E.parameter(E.tensor(p0, [N]));
    const gt = E.tensor(g, [N]);
    const opt = new E.Adam([p], { lr: 0.01 });
    E.tidy(() => E.backward(E.sum(E.mul(p, gt))));
    opt.update();
    // First step, PyTorch's formula: m = 0.1 g, v = 0.001 g^2, p -= lr (m / 0.1) / (sqrt(v / 0.001) + 1e-8).
    const want = idx.map((i) => p0[i] - (0.01 * g[i]) / (Math.abs(g[i]) + 1e-8));
    expectClose(pick(await p.data(), idx), want, TOL.forward, 'Adam step');
    opt.dispose();
    p.dispose();
    gt.dispose();
  });

  it('layerNorm over more rows than 65,535 workgroups of 64', async () => {
    const rows = 65535 * 64 + 61;
    const x = random(rows * 2, 3, -2, 2);
    const idx = sampled(rows);
    const out = await E.layerNorm(E.tensor(x, [rows, 2]), 0).data();
    // A row of two normalizes to -1, +1 (the smaller first) whatever its values.
    const want = idx.flatMap((r) => (x[2 * r] === x[2 * r + 1] ? [0, 0] : x[2 * r] < x[2 * r + 1] ? [-1, 1] : [1, -1]));
    expectClose(idx.flatMap((r) => [out[2 * r], out[2 * r + 1]]), want, TOL.forward, 'layerNorm rows of two');
  });
});
