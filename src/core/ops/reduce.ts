// Differentiable reductions over any axes (keepdims or not), and the ones built from them: mean, logsumexp,
// softmax, log_softmax and variance are compositions, so autograd derives their gradients.
import { Tensor, tidy } from '../tensor.ts';
import { record, settle } from '../graph.ts';
import { binaryK, unaryK, whereK, fillK } from '../prims/elementwise.ts';
import { reduceK, argReduceK, viewAs } from '../prims/reduce.ts';
import { expandK } from '../prims/layout.ts';
import { normAxes, normAxis, reducedShape, sizeOf } from '../shape.ts';
import { add, sub, mul, exp, log, affine } from './elementwise.ts';

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

/** log(sum(exp(x))) computed stably around the (constant) maximum. */
export function logsumexp(x: Tensor, axes?: Axes, keepdims = false): Tensor {
  const ax = normAxes('logsumexp', axes, x.rank);
  // A constant shift (no gradient flows through it); an infinite max is replaced by 0 so that inf - inf never
  // makes NaN, and logsumexp([inf, 1]) is inf as in PyTorch.
  const m = tidy(() => {
    const rawMax = reduceK('max', x, ax, true);
    return whereK(binaryK('lt', unaryK('abs', rawMax), fillK([], Infinity)), rawMax, fillK([], 0));
  });
  const shifted = sub(x, m);
  const e = exp(shifted);
  const s = sum(e, ax, true);
  const l = log(s);
  const outKeep = add(l, m);
  const out = keepdims ? outKeep : reshapeKeep(outKeep, reducedShape(x.shape, ax, false));
  return settle(out, m, shifted, e, s, l, outKeep === out ? null : outKeep);
}

/** A reshape that keeps autograd (the dims removed are 1s). */
function reshapeKeep(t: Tensor, shape: number[]): Tensor {
  const v = viewAs(t, shape);
  return record(v, 'reshape', [t], (g) => [viewAs(g, t.shape)]);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  // Checked here so that a bad axis is reported as logSoftmax's (or softmax's), not logsumexp's.
  const lse = logsumexp(x, normAxis('logSoftmax', axis, x.rank), true);
  return settle(sub(x, lse), lse);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const ls = logSoftmax(x, normAxis('softmax', axis, x.rank));
  return settle(exp(ls), ls);
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
