// Multi-head self-attention as one op on a fused qkv projection (timm's ViT: qkv [..., t, 3, heads, dh] in the last
// axis), fused into one kernel forward and two backward; the composite of permutes, slices, two batched matmuls and
// a softmax is what it replaces (and what the tests check it against).
import type { Tensor } from '../tensor.ts';
import { record, settle } from '../graph.ts';
import { attentionBackwardK, attentionK, attentionShape } from '../prims/attention.ts';

/**
 * softmax(q k^T * scale) v for each head, from qkv [..., t, 3 * heads * dh] laid out as [..., t, 3, heads, dh], with
 * the heads merged in the result [..., t, heads * dh]. scale defaults to 1 / sqrt(dh).
 */
export function attention(qkv: Tensor, heads: number, scale?: number): Tensor {
  const s = attentionShape(qkv, heads);
  const k = scale ?? 1 / Math.sqrt(s.dh);
  if (!Number.isFinite(k)) throw new Error(`attention: scale must be a finite number, got ${scale}`);
  const { out, p } = attentionK(qkv, s, k);
  record(out, 'attention', [qkv], (g) => [attentionBackwardK(g, p, qkv, s, k)]);
  return settle(out, p);
}
