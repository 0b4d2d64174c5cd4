// The fused attention op (qkv [..., t, 3, heads, dh] in the last axis -> [..., t, heads * dh]): forward and backward
// against a float64 reference and finite differences, on one token, one head, head dims of 1 and primes, token counts
// that are primes (the ViT's 17), several leading axes; then against the composite of permute, slice, matmul and
// softmax that the zoo's ViT used before, and its errors.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { checkOp, expectClose, randArr, toGpu } from './support/harness.ts';
import * as R from './support/reference.ts';
import { TOL } from './support/tolerances.ts';

useEngine();

/** Float64 attention: for each sequence and head, softmax(q k^T * scale) v, heads merged. */
function refAttention(qkv: R.Arr, heads: number, scale?: number): R.Arr {
  const shape = qkv.shape;
  const t = shape[shape.length - 2];
  const d = shape[shape.length - 1] / 3;
  const dh = d / heads;
  const k = scale ?? 1 / Math.sqrt(dh);
  const seqs = R.size(shape.slice(0, -2));
  const out = R.arr([...shape.slice(0, -1), d]);
  const at = (s: number, tok: number, part: number, h: number, e: number): number => qkv.data[((s * t + tok) * 3 + part) * d + h * dh + e];
  for (let s = 0; s < seqs; s++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < t; i++) {
        const scores = Array.from({ length: t }, (_, j) => {
          let dot = 0;
          for (let e = 0; e < dh; e++) dot += at(s, i, 0, h, e) * at(s, j, 1, h, e);
          return dot * k;
        });
        const mx = Math.max(...scores);
        const w = scores.map((x) => Math.exp(x - mx));
        const total = R.sumOf(w);
        for (let e = 0; e < dh; e++) {
          let acc = 0;
          for (let j = 0; j < t; j++) acc += (w[j] / total) * at(s, j, 2, h, e);
          out.data[(s * t + i) * d + h * dh + e] = acc;
        }
      }
    }
  }
  return out;
}

describe('attention (fused, from a qkv projection)', () => {
  // [qkv shape, heads]: one token and one head of dim 1; two heads of dim 3 over 5 tokens; the ViT's 17 tokens with 4
  // heads of dim 4; two leading axes, 7 tokens, a head dim of 5; 2 tokens, 3 heads of dim 2; 2 heads of dim 8. Head
  // dims that are multiples of 4 run the vec4 kernels.
  const CASES: [number[], number][] = [
    [[1, 3], 1],
    [[3, 5, 48], 2],
    [[2, 5, 18], 2],
    [[2, 17, 48], 4],
    [[2, 2, 7, 15], 1],
    [[3, 2, 18], 3],
    // More (sequence, head) rows than one 64-thread workgroup on the scalar kernels (head dims 5 and 3).
    [[5, 29, 15], 1],
    [[3, 23, 18], 2],
  ];
  CASES.forEach(([shape, heads], i) => {
    it(`${JSON.stringify(shape)}, ${heads} head(s)`, async () => {
      await checkOp({ name: 'attention', inputs: [randArr(shape, 700 + i, -2, 2)], gpu: (x) => E.attention(x, heads), ref: (x) => refAttention(x, heads) });
    });
  });

  it('takes a scale', async () => {
    await checkOp({ name: 'attention scale 0.3', inputs: [randArr([2, 6, 12], 720, -2, 2)], gpu: (x) => E.attention(x, 2, 0.3), ref: (x) => refAttention(x, 2, 0.3) });
  });

  it("matches timm's composite (reshape, permute, slice, q k^T, softmax, p v, merge heads), gradients included", async () => {
    const [M, B, T, H, dh] = [2, 3, 17, 4, 4];
    const D = H * dh;
    const data = randArr([M, B, T, 3 * D], 730, -2, 2);
    const g = toGpu(randArr([M, B, T, D], 731));
    const composite = (x: E.Tensor): E.Tensor => {
      const qkv = E.permute(E.reshape(x, [M, B, T, 3, H, dh]), [3, 0, 1, 4, 2, 5]);
      const part = (j: number): E.Tensor => E.reshape(E.slice(qkv, [j], [j + 1]), [M, B, H, T, dh]);
      const attn = E.softmax(E.matmul(E.mul(part(0), 1 / Math.sqrt(dh)), part(1), { transB: true }), -1);
      return E.reshape(E.permute(E.matmul(attn, part(2)), [0, 1, 3, 2, 4]), [M, B, T, D]);
    };
    const run = async (f: (x: E.Tensor) => E.Tensor): Promise<{ y: Float32Array; dx: Float32Array }> => {
      const x = E.parameter(toGpu(data));
      const y = E.tidy(() => {
        const out = f(x);
        E.backward(E.sum(E.mul(out, g)));
        return out;
      });
      const result = { y: (await y.data()) as Float32Array, dx: (await x.grad!.data()) as Float32Array };
      y.dispose();
      x.dispose();
      return result;
    };
    const fused = await run((x) => E.attention(x, H));
    const ref = await run(composite);
    expectClose(fused.y, ref.y, TOL.forward, 'fused vs composite attention');
    expectClose(fused.dx, ref.dx, TOL.grad, 'fused vs composite attention gradient');
    g.dispose();
  });

  it('rejects bad input', () => {
    const x = E.zeros([2, 5, 12]);
    expect(() => E.attention(x, 5)).toThrow(/attention: the last axis of qkv \[2, 5, 12\] must be 3 \* heads \* head_dim with 5 heads \(a multiple of 15\)/);
    expect(() => E.attention(x, 0)).toThrow(/attention: heads must be a positive whole number, got 0/);
    expect(() => E.attention(E.zeros([12]), 1)).toThrow(/attention: qkv must be \[\.\.\., tokens, 3 \* dim\]/);
    expect(() => E.attention(E.tensor(Int32Array.from([1, 2, 3]), [1, 3], 'i32'), 1)).toThrow(/attention: expects an f32 qkv tensor, got i32/);
    expect(() => E.attention(x, 2, Infinity)).toThrow(/attention: scale must be a finite number, got Infinity/);
    x.dispose();
  });
});
