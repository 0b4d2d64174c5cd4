// Losses and similarity helpers, composed from differentiable ops so their gradients come from autograd.
import { Tensor } from '../tensor.ts';
import { settle } from '../graph.ts';
import { oneHotK } from '../prims/layout.ts';
import { fmt } from '../shape.ts';
import { abs, add, affine, exp, log, mul, neg, sub, sqrt, maximum, div } from './elementwise.ts';
import { mean, sum, logSoftmax } from './reduce.ts';
import { matmul } from './matmul.ts';

/** Mean cross-entropy of logits [n, classes] against integer labels [n] (i32). */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [n, classes], got ${fmt(logits.shape)}`);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0] || labels.dtype !== 'i32') {
    throw new Error(`crossEntropy: labels must be i32 [${logits.shape[0]}], got ${labels.dtype} ${fmt(labels.shape)}`);
  }
  const target = oneHotK(labels, logits.shape[1]);
  const lp = logSoftmax(logits, -1);
  const picked = mul(lp, target);
  const perRow = sum(picked, -1);
  const m = mean(perRow);
  return settle(neg(m), target, lp, picked, perRow, m);
}

/**
 * Mean binary cross-entropy with logits for multi-label targets in [0, 1], same shape as the logits.
 * Stable form: max(x, 0) - x y + log(1 + exp(-|x|)), with max(x, 0) written (x + |x|) / 2 so that the subgradients
 * add up to the true gradient sigmoid(x) - y at x = 0 too (relu's step(0) = 0 would give -y there).
 */
export function bceWithLogits(logits: Tensor, targets: Tensor): Tensor {
  if (logits.shape.length !== targets.shape.length || logits.shape.some((d, i) => d !== targets.shape[i])) {
    throw new Error(`bceWithLogits: logits ${fmt(logits.shape)} and targets ${fmt(targets.shape)} differ`);
  }
  const a = abs(logits);
  const twicePos = add(logits, a);
  const pos = affine(twicePos, 0.5, 0);
  const xy = mul(logits, targets);
  const negA = neg(a);
  const e = exp(negA);
  const onePlusE = add(e, 1);
  const softplus = log(onePlusE);
  const diff = sub(pos, xy);
  const loss = add(diff, softplus);
  return settle(mean(loss), a, twicePos, pos, xy, negA, e, onePlusE, softplus, diff, loss);
}

export function mse(a: Tensor, b: Tensor): Tensor {
  // Equal shapes only: [n, 1] against [n] would otherwise broadcast to [n, n] without a word.
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`mse: shapes ${fmt(a.shape)} and ${fmt(b.shape)} differ`);
  }
  const d = sub(a, b);
  const d2 = mul(d, d);
  return settle(mean(d2), d, d2);
}

/**
 * x / max(||x||, eps) along `axis`, as torch.nn.functional.normalize. The clamp is taken on the squared norm,
 * sqrt(max(||x||^2, eps^2)): same value, but a zero vector gets the finite gradient g / eps instead of the NaN of
 * sqrt's derivative at 0 (0 / 0).
 */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const sq = mul(x, x);
  const s = sum(sq, axis, true);
  // eps^2 kept a normal f32 (>= 2^-126, i.e. eps >= ~1.1e-19): a GPU that flushes subnormals would make it 0.
  const safe = maximum(s, Math.max(eps * eps, 2 ** -126));
  const norm = sqrt(safe);
  return settle(div(x, norm), sq, s, safe, norm);
}

/** Cosine similarity of every row of a [n, d] with every row of b [m, d]: [n, m]. */
export function cosineSimilarityMatrix(a: Tensor, b: Tensor): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[1]) {
    throw new Error(`cosineSimilarityMatrix: expects [n, d] and [m, d], got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  }
  const an = l2Normalize(a, -1);
  const bn = l2Normalize(b, -1);
  return settle(matmul(an, bn, { transB: true }), an, bn);
}
