// Kernel launches that move data without arithmetic: strided copies (permute, slice, expand, concat), gather and
// its scatter-add backward, and one-hot rows from labels.
import { engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, coalesceDims, fmt, sizeOf, stridesOf, type Shape } from '../shape.ts';

const MAX_RANK = 8;

export interface StridedCopy {
  shape: Shape;
  inStrides: readonly number[];
  outStrides: readonly number[];
  inOffset?: number;
  outOffset?: number;
  /** Add into out instead of overwriting (f32 only). */
  accumulate?: boolean;
}

/** out[outOffset + idx . outStrides] = x[inOffset + idx . inStrides] for every idx of `shape`. */
export function stridedCopyInto(x: Tensor, out: Tensor, c: StridedCopy): void {
  if (c.shape.length > MAX_RANK) throw new Error(`copy: rank ${c.shape.length} exceeds the supported ${MAX_RANK}`);
  const n = sizeOf(c.shape);
  if (n === 0) return;
  const { shape, strides } = coalesceDims(c.shape, [c.inStrides, c.outStrides]);
  const contiguous = stridesOf(shape);
  const outContig = strides[1].every((s, d) => s === contiguous[d]);
  const add = c.accumulate ?? false;
  if (add && (x.dtype !== 'f32' || out.dtype !== 'f32')) throw new Error(`copy: adding into ${out.dtype} from ${x.dtype}: f32 only`);
  if (!add && outContig && shape.length === 1 && strides[0][0] === 1 && x.buffer !== out.buffer) {
    // A contiguous run: a buffer copy, no kernel (WebGPU copies only between distinct buffers).
    engine().copy(x.buffer, out.buffer, n * 4, (c.inOffset ?? 0) * 4, (c.outOffset ?? 0) * 4);
    return;
  }
  const inOffset = c.inOffset ?? 0;
  const outOffset = c.outOffset ?? 0;
  // Four words at a time when the innermost axis runs contiguously on both sides in whole quads and every other
  // stride and both offsets are whole quads too: a quarter of the threads and index arithmetic.
  const last = shape.length - 1;
  const quads =
    shape[last] % 4 === 0 && strides[0][last] === 1 && strides[1][last] === 1 && inOffset % 4 === 0 && outOffset % 4 === 0 &&
    strides.every((st) => st.every((v, d) => d === last || v % 4 === 0)) && x.buffer.size >= 16 && out.buffer.size >= 16;
  const w = quads ? 4 : 1;
  const walk = quads ? [...shape.slice(0, last), shape[last] / 4] : shape;
  const per = (st: number[]): number[] => (quads ? st.map((v, d) => (d === last ? 1 : v / 4)) : st);
  engine().run(quads ? 'strided_copy_vec4' : 'strided_copy', {
    constants: { OUT_CONTIG: outContig, RANK: shape.length, ADD: add },
    buffers: { x: x.buffer, y: out.buffer },
    params: {
      n: n / w,
      in_offset: inOffset / w,
      out_offset: outOffset / w,
      shape: walk,
      in_strides: per(strides[0]),
      out_strides: per(strides[1]),
    },
    threads: n / w,
  });
}

/** A contiguous tensor of `shape` read from `x` through the given strides and offset. */
export function stridedCopy(x: Tensor, shape: Shape, inStrides: readonly number[], inOffset = 0, what = 'copy'): Tensor {
  const y = Tensor.empty(shape, x.dtype, what);
  stridedCopyInto(x, y, { shape, inStrides, outStrides: stridesOf(shape), inOffset });
  return y;
}

function viewDims(op: string, shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  if (axis < 0 || axis >= shape.length) throw new Error(`${op}: axis ${axis} out of range for ${fmt(shape)}`);
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

function checkIndex(op: string, index: Tensor): void {
  if (index.dtype !== 'i32' || index.rank !== 1) throw new Error(`${op}: index must be a 1-D i32 tensor, got ${index.dtype} ${fmt(index.shape)}`);
}

/** The gather kernel's launch: a 3-D grid [inner / 256, m, outer] where rows are long enough to fill workgroups and
 * the grid fits the device, else one thread per element found by division. */
function gatherLaunch(outer: number, m: number, inner: number): { constants: { GRID3: boolean }; workgroups?: [number, number, number]; threads?: number } {
  const max = engine().device.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.ceil(inner / 256);
  if (inner >= 128 && x <= max && m <= max && outer <= max) return { constants: { GRID3: true }, workgroups: [x, m, outer] };
  return { constants: { GRID3: false }, threads: outer * m * inner };
}

/** y = x.index_select(axis, index); out-of-range indices give NaN. */
export function gatherK(x: Tensor, index: Tensor, axis: number): Tensor {
  checkIndex('gather', index);
  const { outer, n, inner } = viewDims('gather', x.shape, axis);
  const m = index.size;
  const shape = [...x.shape];
  shape[axis] = m;
  const y = Tensor.empty(shape, x.dtype, 'gather');
  if (y.size === 0) return y;
  engine().run('gather', {
    ...gatherLaunch(outer, m, inner),
    buffers: { x: x.buffer, idx: index.buffer, y: y.buffer },
    params: { outer, n, inner, m, idx_offset: 0, y_offset: 0 },
  });
  return y;
}

/** out[outRow + i] = x[index[indexOffset + i]] for i < count, along axis 0, in place (no new tensor). */
export function gatherRowsIntoK(x: Tensor, index: Tensor, out: Tensor, indexOffset: number, count: number, outRow: number): void {
  checkIndex('gatherRowsInto', index);
  const { n, inner } = viewDims('gatherRowsInto', x.shape, 0);
  if (x.dtype !== out.dtype || fmt(x.shape.slice(1)) !== fmt(out.shape.slice(1))) {
    throw new Error(`gatherRowsInto: rows of ${x.dtype} ${fmt(x.shape)} do not fit ${out.dtype} ${fmt(out.shape)}`);
  }
  const ok = (v: number): boolean => Number.isInteger(v) && v >= 0;
  if (!ok(indexOffset) || !ok(count) || !ok(outRow) || indexOffset + count > index.size || outRow + count > out.shape[0]) {
    throw new Error(`gatherRowsInto: rows ${outRow}..${outRow + count} of ${fmt(out.shape)} from entries ${indexOffset}..${indexOffset + count} of an index of ${index.size}: out of range`);
  }
  if (count === 0) return;
  if (inner === 0) return;
  engine().run('gather', {
    ...gatherLaunch(1, count, inner),
    buffers: { x: x.buffer, idx: index.buffer, y: out.buffer },
    params: { outer: 1, n, inner, m: count, idx_offset: indexOffset, y_offset: outRow * inner },
  });
}

/** The gradient of gatherK: rows of g summed into a zero tensor of `shape` at `index`. */
export function scatterAddK(g: Tensor, index: Tensor, axis: number, shape: Shape): Tensor {
  checkIndex('scatterAdd', index);
  const { outer, n, inner } = viewDims('scatterAdd', shape, axis);
  const y = Tensor.empty(shape, 'f32', 'scatterAdd');
  engine().run('scatter_add', {
    buffers: { g: g.buffer, idx: index.buffer, y: y.buffer },
    params: { outer, n, inner, m: index.size },
    threads: y.size,
  });
  return y;
}

export function oneHotK(labels: Tensor, classes: number): Tensor {
  if (labels.dtype !== 'i32' || labels.rank !== 1) throw new Error(`oneHot: labels must be a 1-D i32 tensor, got ${labels.dtype} ${fmt(labels.shape)}`);
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`oneHot: classes must be a positive integer, got ${classes}`);
  const y = Tensor.empty([labels.size, classes], 'f32', 'oneHot');
  engine().run('one_hot', {
    buffers: { labels: labels.buffer, y: y.buffer },
    params: { n: labels.size, classes },
    threads: y.size,
  });
  return y;
}

/** x broadcast to `shape`, materialized. */
export function expandK(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes('expand', x.shape, shape);
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new Error(`expand: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
  }
  return stridedCopy(x, shape, broadcastStrides(x.shape, shape), 0, 'expand');
}
