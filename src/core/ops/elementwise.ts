// Differentiable elementwise ops with numpy broadcasting. Forward = one kernel; backward = a rule on kernel launches,
// with broadcast gradients summed back to each input's shape.
import { Tensor } from '../tensor.ts';
import { record, settle } from '../graph.ts';
import { unaryK, binaryK, whereK, fillK, type UnaryOp } from '../prims/elementwise.ts';
import { sumToShape } from '../prims/reduce.ts';

/** g * f(x) for a unary derivative helper f. */
function scaleBy(g: Tensor, d: Tensor): Tensor {
  const out = binaryK('mul', g, d);
  d.dispose();
  return out;
}

function unary(op: UnaryOp, x: Tensor, grad: (g: Tensor, y: Tensor) => Tensor): Tensor {
  const y = unaryK(op, x);
  return record(y, op, [x], (g) => [grad(g, y)]);
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => unaryK('neg', g));
export const abs = (x: Tensor): Tensor => unary('abs', x, (g) => scaleBy(g, unaryK('sign', x)));
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, y) => binaryK('mul', g, y));
export const log = (x: Tensor): Tensor => unary('log', x, (g) => binaryK('div', g, x));
export const relu = (x: Tensor): Tensor => unary('relu', x, (g) => scaleBy(g, unaryK('step', x)));
export const gelu = (x: Tensor): Tensor => unary('gelu', x, (g) => scaleBy(g, unaryK('geluGrad', x)));

export function sqrt(x: Tensor): Tensor {
  const y = unaryK('sqrt', x);
  return record(y, 'sqrt', [x], (g) => {
    const twoY = unaryK('affine', y, 2, 0);
    const out = binaryK('div', g, twoY);
    twoY.dispose();
    return [out];
  });
}

export function sigmoid(x: Tensor): Tensor {
  const y = unaryK('sigmoid', x);
  return record(y, 'sigmoid', [x], (g) => {
    const oneMinus = unaryK('affine', y, -1, 1);
    const d = binaryK('mul', y, oneMinus);
    oneMinus.dispose();
    return [scaleBy(g, d)];
  });
}

export function tanh(x: Tensor): Tensor {
  const y = unaryK('tanh', x);
  return record(y, 'tanh', [x], (g) => {
    const y2 = binaryK('mul', y, y);
    const d = unaryK('affine', y2, -1, 1);
    y2.dispose();
    return [scaleBy(g, d)];
  });
}

/** x^p for a scalar p (negative x allowed when p is an integer). */
export function pow(x: Tensor, p: number): Tensor {
  const y = unaryK('pow', x, p);
  return record(y, 'pow', [x], (g) => {
    const d = unaryK('pow', x, p - 1);
    const scaled = unaryK('affine', d, p, 0);
    d.dispose();
    return [scaleBy(g, scaled)];
  });
}

/** a * x + b for scalars a and b. */
export function affine(x: Tensor, a: number, b: number): Tensor {
  const y = unaryK('affine', x, a, b);
  return record(y, 'affine', [x], (g) => [unaryK('affine', g, a, 0)]);
}

function binaryGrad(op: 'add' | 'sub' | 'mul' | 'div', a: Tensor, b: Tensor, g: Tensor): [Tensor | null, Tensor | null] {
  const ga = !a.requiresGrad ? null : op === 'mul' ? binaryK('mul', g, b) : op === 'div' ? binaryK('div', g, b) : g;
  let gb: Tensor | null = null;
  if (b.requiresGrad) {
    if (op === 'add') gb = g;
    else if (op === 'sub') gb = unaryK('neg', g);
    else if (op === 'mul') gb = binaryK('mul', g, a);
    else {
      // d(a/b)/db = -a / b^2 = -(a/b) / b
      const q = binaryK('div', a, b);
      const t = binaryK('mul', g, q);
      q.dispose();
      const t2 = binaryK('div', t, b);
      t.dispose();
      gb = unaryK('neg', t2);
      t2.dispose();
    }
  }
  const outA = ga ? sumToShape(ga, a.shape) : null;
  const outB = gb ? sumToShape(gb, b.shape) : null;
  if (ga && ga !== g) ga.dispose();
  if (gb && gb !== g) gb.dispose();
  return [outA, outB];
}

function binary(op: 'add' | 'sub' | 'mul' | 'div', a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const [s, c] = op === 'add' ? [1, b] : op === 'sub' ? [1, -b] : op === 'mul' ? [b, 0] : [1 / b, 0];
    return affine(a, s, c);
  }
  const y = binaryK(op, a, b);
  return record(y, op, [a, b], (g) => binaryGrad(op, a, b, g));
}

export const add = (a: Tensor, b: Tensor | number): Tensor => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor | number): Tensor => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor | number): Tensor => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor | number): Tensor => binary('div', a, b);

function scalarLike(v: number): Tensor {
  return fillK([], v);
}

/** Elementwise max/min; on ties the gradient is split evenly, as in PyTorch. */
function extremum(op: 'maximum' | 'minimum', a: Tensor, b: Tensor | number): Tensor {
  const bt = typeof b === 'number' ? scalarLike(b) : b;
  const y = binaryK(op, a, bt);
  const out = record(y, op, [a, bt], (g) => {
    const wins = binaryK(op === 'maximum' ? 'gt' : 'lt', a, bt);
    const ties = binaryK('eq', a, bt);
    const half = unaryK('affine', ties, 0.5, 0);
    const share = binaryK('add', wins, half);
    [wins, ties, half].forEach((t) => t.dispose());
    const gaFull = binaryK('mul', g, share);
    share.dispose();
    const gbFull = binaryK('sub', g, gaFull);
    const ga = a.requiresGrad ? sumToShape(gaFull, a.shape) : null;
    const gb = bt.requiresGrad ? sumToShape(gbFull, bt.shape) : null;
    gaFull.dispose();
    gbFull.dispose();
    return [ga, gb];
  });
  // A scalar made here is needed only by the backward rule.
  return settle(out, bt !== b ? bt : null);
}

export const maximum = (a: Tensor, b: Tensor | number): Tensor => extremum('maximum', a, b);
export const minimum = (a: Tensor, b: Tensor | number): Tensor => extremum('minimum', a, b);

function compare(op: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne', a: Tensor, b: Tensor | number): Tensor {
  const bt = typeof b === 'number' ? scalarLike(b) : b;
  const y = binaryK(op, a, bt);
  if (bt !== b) bt.dispose();
  return y;
}

/** Comparisons give a float mask (1 where true, 0 elsewhere) and no gradient. */
export const lt = (a: Tensor, b: Tensor | number): Tensor => compare('lt', a, b);
export const le = (a: Tensor, b: Tensor | number): Tensor => compare('le', a, b);
export const gt = (a: Tensor, b: Tensor | number): Tensor => compare('gt', a, b);
export const ge = (a: Tensor, b: Tensor | number): Tensor => compare('ge', a, b);
export const eq = (a: Tensor, b: Tensor | number): Tensor => compare('eq', a, b);
export const ne = (a: Tensor, b: Tensor | number): Tensor => compare('ne', a, b);

/** cond ? a : b elementwise with broadcasting; cond is a mask (nonzero = true) and gets no gradient. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const y = whereK(cond, a, b);
  return record(y, 'where', [a, b], (g) => {
    const zero = scalarLike(0);
    const ga = a.requiresGrad ? whereK(cond, g, zero) : null;
    const gb = b.requiresGrad ? whereK(cond, zero, g) : null;
    zero.dispose();
    const outA = ga ? sumToShape(ga, a.shape) : null;
    const outB = gb ? sumToShape(gb, b.shape) : null;
    ga?.dispose();
    gb?.dispose();
    return [outA, outB];
  });
}
