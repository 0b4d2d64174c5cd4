// Differentiable reductions over any axes (keepdims or not). logsumexp, softmax and log_softmax run on fused kernels
// with closed-form backward rules; mean and variance are compositions, so autograd derives their gradients.
import { Tensor, tidy } from '../tensor.ts';
import { record, settle } from '../graph.ts';
import { binaryK, unaryK } from '../prims/elementwise.ts';
import { reduceK, argReduceK, softmaxK, viewAs } from '../prims/reduce.ts';
import { expandK } from '../prims/layout.ts';
import { normAxes, normAxis, reducedShape, sizeOf } from '../shape.ts';
import { sub, mul, affine } from './elementwise.ts';

export type Axes = number | readonly number[] | undefined;

/** The gradient g of a reduction, reshaped with kept dims and broadcast back to x's shape. */
function spread(g: Tensor, x: Tensor, axes: number[]): Tensor {
  const kept = viewAs(g, reducedShape(x.shape, axes, true));
  const out = expandK(kept, x.shape);
  kept.dispose();
  return out;
}

export function sum(x: Tensor, axes?: Axes, keepdims = false): Tensor {
  const ax = normAxes('sum', axes, x.rank);
  const y = reduceK('sum', x, ax, keepdims);
  return record(y, 'sum', [x], (g) => [spread(g, x, ax)]);
}

export function mean(x: Tensor, axes?: Axes, keepdims = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const count = sizeOf(ax.map((a) => x.shape[a]));
  const s = sum(x, ax, keepdims);
  return settle(affine(s, 1 / count, 0), s);
}

/** max/min: the gradient goes to the extreme elements, split evenly among ties. */
function extreme(op: 'max' | 'min', x: Tensor, axes: Axes, keepdims: boolean): Tensor {
  const ax = normAxes(op, axes, x.rank);
  const y = reduceK(op, x, ax, keepdims);
  return record(y, op, [x], (g) => {
    const yFull = spread(y, x, ax);
    const mask = binaryK('eq', x, yFull);
    yFull.dispose();
    const count = reduceK('sum', mask, ax, true);
    const share = binaryK('div', mask, count);
    mask.dispose();
    count.dispose();
    const gFull = spread(g, x, ax);
    const out = binaryK('mul', gFull, share);
    gFull.dispose();
    share.dispose();
    return [out];
  });
}

export const max = (x: Tensor, axes?: Axes, keepdims = false): Tensor => extreme('max', x, axes, keepdims);
export const min = (x: Tensor, axes?: Axes, keepdims = false): Tensor => extreme('min', x, axes, keepdims);

/** Index of the largest element along one axis (i32, first on ties). No gradient. */
export const argmax = (x: Tensor, axis = -1, keepdims = false): Tensor => argReduceK('argmax', x, axis, keepdims);
export const argmin = (x: Tensor, axis = -1, keepdims = false): Tensor => argReduceK('argmin', x, axis, keepdims);

/**
 * log(sum(exp(x))) in one pass of online (max, sum of exp) pairs: logsumexp([inf, 1]) is inf and of [-inf, -inf] is
 * -inf, as in PyTorch. Gradient: g exp(x - logsumexp(x)).
 */
export function logsumexp(x: Tensor, axes?: Axes, keepdims = false): Tensor {
  const ax = normAxes('logsumexp', axes, x.rank);
  const y = reduceK('logsumexp', x, ax, keepdims);
  return record(y, 'logsumexp', [x], (g) =>
    tidy(() => {
      const p = unaryK('exp', binaryK('sub', x, spread(y, x, ax)));
      return [binaryK('mul', spread(g, x, ax), p)];
    }),
  );
}

/** log_softmax along one axis, fused: (x - max) - log(sum(exp(x - max))). Gradient: g - softmax(x) sum(g). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('logSoftmax', axis, x.rank);
  const y = softmaxK(x, a, true);
  return record(y, 'logSoftmax', [x], (g) =>
    tidy(() => {
      const gs = reduceK('sum', g, a, true);
      return [binaryK('sub', g, binaryK('mul', unaryK('exp', y), gs))];
    }),
  );
}

/** softmax along one axis, fused: exp(x - max) / sum(exp(x - max)). Gradient: y (g - sum(g y)). */
export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('softmax', axis, x.rank);
  const y = softmaxK(x, a, false);
  return record(y, 'softmax', [x], (g) =>
    tidy(() => {
      const gy = reduceK('sum', binaryK('mul', g, y), a, true);
      return [binaryK('mul', y, binaryK('sub', g, gy))];
    }),
  );
}

/** Variance over axes; correction = 1 gives the unbiased estimate. */
export function variance(x: Tensor, axes?: Axes, keepdims = false, correction = 0): Tensor {
  const ax = normAxes('variance', axes, x.rank);
  const count = sizeOf(ax.map((a) => x.shape[a]));
  if (count - correction <= 0) throw new Error(`variance: ${count} elements with correction ${correction}`);
  const mu = mean(x, ax, true);
  const d = sub(x, mu);
  const d2 = mul(d, d);
  const s = sum(d2, ax, keepdims);
  return settle(affine(s, 1 / (count - correction), 0), mu, d, d2, s);
}
