// Pure shape arithmetic: sizes, strides, broadcasting and axis normalization, with errors that name the op.

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${fmt(shape)} (dims must be integers >= 0)`);
  }
}

/** numpy broadcasting of two or more shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else throw new Error(`${op}: shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast together`);
    }
  }
  return out;
}

/** Element strides of `shape` when read as `target` (a broadcast of it): 0 along broadcast axes. */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const j = target.length - shape.length + i;
    out[j] = shape[i] === 1 && target[j] !== 1 ? 0 : own[i];
  }
  return out;
}

/**
 * The same strided walk over fewer axes: axes of extent 1 are dropped and each axis is merged into the one before it
 * wherever every stride list steps over it contiguously (stride[d] = stride[d + 1] * shape[d + 1]). Kernels then
 * spend fewer integer divisions per element decomposing an index (slow on every GPU, and scalar on lavapipe); a
 * contiguous slice comes out as one axis. Returns at least one axis.
 */
export function coalesceDims(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((st, k) => outStrides[k][last] === st[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((st, k) => (outStrides[k][last] = st[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((st, k) => outStrides[k].push(st[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** Normalize an axis (negative counts from the end) and check it. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Sorted, unique, normalized axes; undefined means all axes. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new Error(`${op}: repeated axis in [${list.join(', ')}]`);
  return out;
}

/** The shape after reducing `axes`, kept as 1s or dropped. */
export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** Axes along which `from` was broadcast to reach `to` (for summing gradients back). */
export function broadcastAxes(from: Shape, to: Shape): { axes: number[]; keepShape: number[] } {
  const axes: number[] = [];
  const lead = to.length - from.length;
  for (let j = 0; j < to.length; j++) {
    const i = j - lead;
    if (i < 0 || (from[i] === 1 && to[j] !== 1)) axes.push(j);
  }
  return { axes, keepShape: to.map((d, j) => (axes.includes(j) ? 1 : d)) };
}
