// Differentiable shape ops. reshape is a view (no copy); permute, slice, concat, expand and gather are kernels.
import { Tensor } from '../tensor.ts';
import { record } from '../graph.ts';
import { viewAs, sumToShape } from '../prims/reduce.ts';
import { stridedCopy, stridedCopyInto, expandK, gatherK, gatherRowsIntoK, scatterAddK } from '../prims/layout.ts';
import { fillK } from '../prims/elementwise.ts';
import { fmt, normAxis, sizeOf, stridesOf, type Shape } from '../shape.ts';

/** Same data, another shape; one dim may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const hole = s.indexOf(-1);
  if (s.some((d, i) => !Number.isInteger(d) || (d < 0 && i !== hole))) {
    throw new Error(`reshape: invalid shape ${fmt(shape)} (dims must be integers >= 0, with at most one -1)`);
  }
  if (hole >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== hole));
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot view ${fmt(x.shape)} as ${fmt(shape)}`);
    s[hole] = x.size / rest;
  }
  const y = viewAs(x, s);
  return record(y, 'reshape', [x], (g) => [viewAs(g, x.shape)]);
}

/** A view of x cut from the graph: no gradient flows back through it. */
export function detach(x: Tensor): Tensor {
  return viewAs(x, x.shape);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis('permute', a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the ${x.rank} axes of ${fmt(x.shape)}`);
  }
  const strides = stridesOf(x.shape);
  const y = stridedCopy(x, p.map((a) => x.shape[a]), p.map((a) => strides[a]), 0, 'permute');
  const inverse = new Array<number>(p.length);
  p.forEach((a, i) => (inverse[a] = i));
  return record(y, 'permute', [x], (g) => {
    const gs = stridesOf(g.shape);
    return [stridedCopy(g, x.shape, inverse.map((a) => gs[a]), 0, 'permute')];
  });
}

/** Swap two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = [...Array(x.rank).keys()];
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** x[begin[0]:end[0], begin[1]:end[1], ...]; missing trailing axes are taken whole, negative bounds count back. */
export function slice(x: Tensor, begin: readonly number[], end?: readonly (number | undefined)[]): Tensor {
  const given = Math.max(begin.length, end?.length ?? 0);
  if (given > x.rank) throw new Error(`slice: ${given} bounds for ${fmt(x.shape)}`);
  const starts: number[] = [];
  const shape: number[] = [];
  x.shape.forEach((d, i) => {
    const b0 = begin[i] ?? 0;
    const e0 = end?.[i] ?? d;
    const b = b0 < 0 ? b0 + d : b0;
    const e = e0 < 0 ? e0 + d : e0;
    if (!Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e > d || b > e) {
      throw new Error(`slice: bounds [${b0}, ${e0}) are out of range for axis ${i} of ${fmt(x.shape)}`);
    }
    starts.push(b);
    shape.push(e - b);
  });
  const strides = stridesOf(x.shape);
  const offset = starts.reduce((acc, s, i) => acc + s * strides[i], 0);
  const y = stridedCopy(x, shape, strides, offset, 'slice');
  // The gradient goes into its region of x's: added into an accumulated one when backward has it (the other parts
  // of a tensor split in several slices), else into zeros.
  return record(y, 'slice', [x], (g) => [
    {
      shape: x.shape,
      into: (acc) => {
        const gx = acc ?? fillK(x.shape, 0);
        stridedCopyInto(g, gx, { shape, inStrides: stridesOf(shape), outStrides: strides, outOffset: offset, accumulate: acc !== null });
        return gx;
      },
    },
  ]);
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors given');
  const first = xs[0];
  const ax = normAxis('concat', axis, first.rank);
  for (const t of xs) {
    const ok = t.rank === first.rank && t.dtype === first.dtype && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) throw new Error(`concat: shapes ${xs.map((u) => fmt(u.shape)).join(', ')} differ off axis ${axis}`);
  }
  const shape = [...first.shape];
  shape[ax] = xs.reduce((acc, t) => acc + t.shape[ax], 0);
  const y = Tensor.empty(shape, first.dtype, 'concat');
  const outStrides = stridesOf(shape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of xs) {
    offsets.push(at * outStrides[ax]);
    stridedCopyInto(t, y, { shape: t.shape, inStrides: stridesOf(t.shape), outStrides, outOffset: at * outStrides[ax] });
    at += t.shape[ax];
  }
  return record(y, 'concat', [...xs], (g) =>
    xs.map((t, i) => (t.requiresGrad ? stridedCopy(g, t.shape, outStrides, offsets[i], 'concat') : null)),
  );
}

/** x broadcast to `shape` (materialized). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const y = expandK(x, shape);
  return record(y, 'expand', [x], (g) => [sumToShape(g, x.shape)]);
}

/** Rows (or slices along `axis`) of x picked by an i32 index tensor: x.index_select(axis, index). */
export function gather(x: Tensor, index: Tensor, axis = 0): Tensor {
  const ax = normAxis('gather', axis, x.rank);
  const y = gatherK(x, index, ax);
  return record(y, 'gather', [x], (g) => [scatterAddK(g, index, ax, x.shape)]);
}

/** Writes rows index[indexOffset .. indexOffset + count) of x (axis 0) into out from row outRow on, in place: several
 * calls fill one tensor from several sources. Data movement only: no gradient flows, so x and out must not need one. */
export function gatherRowsInto(x: Tensor, index: Tensor, out: Tensor, indexOffset: number, count: number, outRow: number): void {
  if (x.requiresGrad || out.requiresGrad) throw new Error('gatherRowsInto: no gradient flows through it; use gather and concat on tensors that need one');
  gatherRowsIntoK(x, index, out, indexOffset, count, outRow);
}

/** numpy / PyTorch names for the same ops. */
export const broadcastTo = expand;
export const indexSelect = gather;
