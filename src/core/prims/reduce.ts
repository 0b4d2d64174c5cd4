// Kernel launches for reductions. Reduced axes are grouped into runs of adjacent axes; each run is one pass over a
// [outer, r, inner] view: a workgroup per row when the run is innermost (inner = 1), otherwise a thread per output.
import { engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { broadcastAxes, normAxes, normAxis, reducedShape, sameShape, sizeOf, fmt, type Shape } from '../shape.ts';

export const REDUCE = { sum: 0, max: 1, min: 2 } as const;
export type ReduceOp = keyof typeof REDUCE;

/** Split sorted axes into runs of consecutive axes. */
function runsOf(axes: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  return runs;
}

/** A view of `t` with another shape of the same size; the input is not consumed. */
export function viewAs(t: Tensor, shape: readonly number[]): Tensor {
  if (sizeOf(shape) !== t.size) throw new Error(`reshape: cannot view ${fmt(t.shape)} as ${fmt(shape)}`);
  return new Tensor([...shape], t.dtype, t);
}

function reducePass(op: ReduceOp, x: Tensor, outer: number, r: number, inner: number, outShape: number[]): Tensor {
  const y = Tensor.empty(outShape, 'f32', op);
  const e = engine();
  if (inner === 1) {
    e.run('reduce_rows', {
      constants: { OP: REDUCE[op] },
      buffers: { x: x.buffer, y: y.buffer },
      params: { rows: outer, r },
      workgroups: e.gridFor(outer, 1),
    });
  } else {
    e.run('reduce_strided', {
      constants: { OP: REDUCE[op] },
      buffers: { x: x.buffer, y: y.buffer },
      params: { outer, r, inner },
      threads: outer * inner,
    });
  }
  return y;
}

export function reduceK(op: ReduceOp, x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype}`);
  const ax = normAxes(op, axes, x.rank);
  let shape = [...x.shape];
  let cur = x;
  // Innermost runs first: reducing a run leaves the indices of the axes before it unchanged.
  for (const [s, e] of runsOf(ax).reverse()) {
    const outer = sizeOf(shape.slice(0, s));
    const r = sizeOf(shape.slice(s, e));
    const inner = sizeOf(shape.slice(e));
    const next = shape.map((d, i) => (i >= s && i < e ? 1 : d));
    if (r === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce an empty axis of ${fmt(x.shape)}`);
    const y = reducePass(op, cur, outer, r, inner, next);
    if (cur !== x) cur.dispose();
    cur = y;
    shape = next;
  }
  const finalShape = reducedShape(x.shape, ax, keepdims);
  if (cur === x) return viewAs(x, finalShape);
  const out = viewAs(cur, finalShape);
  cur.dispose();
  return out;
}

export function argReduceK(op: 'argmax' | 'argmin', x: Tensor, axis: number, keepdims = false): Tensor {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype}`);
  const a = normAxis(op, axis, x.rank);
  const r = x.shape[a];
  if (r === 0) throw new Error(`${op}: axis ${axis} of ${fmt(x.shape)} is empty`);
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a + 1));
  const y = Tensor.empty(reducedShape(x.shape, [a], keepdims), 'i32', op);
  engine().run('argreduce', {
    constants: { OP: op === 'argmax' ? 0 : 1 },
    buffers: { x: x.buffer, y: y.buffer },
    params: { outer, r, inner },
    threads: outer * inner,
  });
  return y;
}

/** Sum a broadcast gradient back down to `shape` (the inverse of broadcasting). Returns a new tensor. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return viewAs(g, shape);
  const { axes } = broadcastAxes(shape, g.shape);
  const summed = reduceK('sum', g, axes, true);
  const out = viewAs(summed, shape);
  summed.dispose();
  return out;
}
