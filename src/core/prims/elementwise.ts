// Kernel launches for elementwise work: unary, broadcast binary, where, fill and in-place axpy. No autograd here;
// ops/ builds differentiable ops on these, and backward rules call them directly.
import { engine } from '../engine.ts';
import { Tensor, type DType } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, coalesceDims, sameShape, fmt, type Shape } from '../shape.ts';

export const UNARY = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, relu: 5, sigmoid: 6, tanh: 7, gelu: 8,
  pow: 9, affine: 10, step: 11, sign: 12, geluGrad: 13,
} as const;
export type UnaryOp = keyof typeof UNARY;

export const BINARY = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, lt: 6, le: 7, gt: 8, ge: 9, eq: 10, ne: 11,
} as const;
export type BinaryOp = keyof typeof BINARY;

const MAX_RANK = 8;

function checkF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== 'f32') throw new Error(`${op}: expects f32 tensors, got ${t.dtype} ${fmt(t.shape)}`);
}

function checkRank(op: string, shape: Shape): void {
  if (shape.length > MAX_RANK) throw new Error(`${op}: rank ${shape.length} exceeds the supported ${MAX_RANK}`);
}

export function unaryK(op: UnaryOp, x: Tensor, alpha = 0, beta = 0): Tensor {
  checkF32(op, x);
  const y = Tensor.empty(x.shape, 'f32', op);
  engine().run('unary', {
    constants: { OP: UNARY[op] },
    buffers: { x: x.buffer, y: y.buffer },
    params: { n: x.size, alpha, beta },
    threads: x.size,
  });
  return y;
}

export function binaryK(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  checkF32(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  checkRank(op, shape);
  const y = Tensor.empty(shape, 'f32', op);
  const walk = coalesceDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  engine().run('binary', {
    constants: { OP: BINARY[op], A_FULL: sameShape(a.shape, shape), B_FULL: sameShape(b.shape, shape), RANK: walk.shape.length },
    buffers: { a: a.buffer, b: b.buffer, y: y.buffer },
    params: {
      n: y.size,
      shape: walk.shape,
      a_strides: walk.strides[0],
      b_strides: walk.strides[1],
    },
    threads: y.size,
  });
  return y;
}

export function whereK(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkF32('where', cond, a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  checkRank('where', shape);
  const y = Tensor.empty(shape, 'f32', 'where');
  const walk = coalesceDims(shape, [broadcastStrides(cond.shape, shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  engine().run('where', {
    constants: { RANK: walk.shape.length },
    buffers: { cond: cond.buffer, a: a.buffer, b: b.buffer, y: y.buffer },
    params: {
      n: y.size,
      shape: walk.shape,
      c_strides: walk.strides[0],
      a_strides: walk.strides[1],
      b_strides: walk.strides[2],
    },
    threads: y.size,
  });
  return y;
}

/** A tensor filled with one value, written by a kernel (no upload, so no submit). */
export function fillK(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const y = Tensor.empty(shape, dtype, 'fill');
  fillInto(y, value);
  return y;
}

export function fillInto(y: Tensor, value: number): void {
  if (value === 0) {
    engine().clear(y.buffer, 0, y.byteLength);
    return;
  }
  const word = new DataView(new ArrayBuffer(4));
  if (y.dtype === 'f32') word.setFloat32(0, value, true);
  else if (y.dtype === 'i32') word.setInt32(0, value, true);
  else word.setUint32(0, value, true);
  engine().run('fill', { buffers: { y: y.buffer }, params: { n: y.size, word: word.getUint32(0, true) }, threads: y.size });
}

/** y += alpha * x, in place. */
export function axpyInto(y: Tensor, x: Tensor, alpha = 1): void {
  checkF32('axpy', x, y);
  if (!sameShape(x.shape, y.shape)) throw new Error(`axpy: shapes ${fmt(y.shape)} and ${fmt(x.shape)} differ`);
  engine().run('axpy', { buffers: { x: x.buffer, y: y.buffer }, params: { n: y.size, alpha }, threads: y.size });
}

/** A copy of x in its own buffer. */
export function copyK(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape, x.dtype, 'copy');
  engine().copy(x.buffer, y.buffer, x.byteLength);
  return y;
}
