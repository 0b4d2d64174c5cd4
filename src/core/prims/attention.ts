// Kernel launches for multi-head self-attention read from a fused qkv projection (timm's layout): the forward pass,
// which also returns the attention probabilities, and its backward pass into the qkv gradient.
import { engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { fmt } from '../shape.ts';

/** The geometry of qkv [..., t, 3 * heads * dh]: sequences (the product of the leading axes), tokens, heads, dh. */
export interface AttentionShape {
  seqs: number;
  t: number;
  heads: number;
  dh: number;
}

export function attentionShape(qkv: Tensor, heads: number): AttentionShape {
  if (qkv.dtype !== 'f32') throw new Error(`attention: expects an f32 qkv tensor, got ${qkv.dtype} ${fmt(qkv.shape)}`);
  if (qkv.rank < 2) throw new Error(`attention: qkv must be [..., tokens, 3 * dim], got ${fmt(qkv.shape)}`);
  if (!(Number.isInteger(heads) && heads >= 1)) throw new Error(`attention: heads must be a positive whole number, got ${heads}`);
  const width = qkv.shape[qkv.rank - 1];
  if (width % (3 * heads) !== 0 || width === 0) {
    throw new Error(`attention: the last axis of qkv ${fmt(qkv.shape)} must be 3 * heads * head_dim with ${heads} heads (a multiple of ${3 * heads})`);
  }
  const t = qkv.shape[qkv.rank - 2];
  const seqs = qkv.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { seqs, t, heads, dh: width / (3 * heads) };
}

/** Four elements at a time when a head's dim allows (every offset is then a whole number of quads). */
const vec4 = (s: AttentionShape): boolean => s.dh % 4 === 0;

function params(s: AttentionShape, scale: number): Record<string, number> {
  return { rows: s.seqs * s.heads * s.t, t: s.t, heads: s.heads, dh: vec4(s) ? s.dh / 4 : s.dh, scale };
}

/** out [..., t, heads * dh] = softmax(q k^T * scale) v per sequence and head, and the probabilities [seqs, heads, t, t]. */
export function attentionK(qkv: Tensor, s: AttentionShape, scale: number): { out: Tensor; p: Tensor } {
  const out = Tensor.empty([...qkv.shape.slice(0, -1), s.heads * s.dh], 'f32', 'attention');
  const p = Tensor.empty([s.seqs, s.heads, s.t, s.t], 'f32', 'attention probabilities');
  if (s.seqs * s.t > 0) {
    engine().run(vec4(s) ? 'attention_vec4' : 'attention', { buffers: { qkv: qkv.buffer, out: out.buffer, p: p.buffer }, params: params(s, scale), threads: s.seqs * s.heads * s.t });
  }
  return { out, p };
}

/** dqkv (qkv's shape) from the output's gradient g, the probabilities and qkv. */
export function attentionBackwardK(g: Tensor, p: Tensor, qkv: Tensor, s: AttentionShape, scale: number): Tensor {
  const dqkv = Tensor.empty(qkv.shape, 'f32', 'attention grad');
  if (s.seqs * s.t > 0) {
    const e = engine();
    const ds = Tensor.empty(p.shape, 'f32', 'attention score grad');
    const buffers = { qkv: qkv.buffer, g: g.buffer, p: p.buffer, ds: ds.buffer, dqkv: dqkv.buffer };
    for (const kv of [false, true]) {
      e.run(vec4(s) ? 'attention_backward_vec4' : 'attention_backward', { constants: { KV: kv }, buffers, params: params(s, scale), threads: s.seqs * s.heads * s.t });
    }
    ds.dispose();
  }
  return dqkv;
}
