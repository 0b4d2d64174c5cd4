// A float64 CPU reference for every op: plain arrays with shapes, numpy semantics (broadcasting, axes, keepdims).
// Slow and obvious on purpose; the GPU kernels are checked against it.

export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function arr(shape: readonly number[], data?: ArrayLike<number>): Arr {
  const d = new Float64Array(size(shape));
  if (data) d.set(data);
  return { shape: [...shape], data: d };
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Multi-index of flat position i in shape. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function broadcastShape(...shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    s.forEach((d, i) => {
      const j = rank - s.length + i;
      if (d !== 1) {
        if (out[j] !== 1 && out[j] !== d) throw new Error(`reference: cannot broadcast ${shapes.map((x) => `[${x}]`).join(' ')}`);
        out[j] = d;
      }
    });
  }
  return out;
}

/** Value of a at the multi-index of the broadcast shape `idx`. */
export function at(a: Arr, idx: number[]): number {
  const s = strides(a.shape);
  let off = 0;
  const lead = idx.length - a.shape.length;
  for (let i = 0; i < a.shape.length; i++) off += (a.shape[i] === 1 ? 0 : idx[lead + i]) * s[i];
  return a.data[off];
}

export function map(a: Arr, f: (x: number) => number): Arr {
  return { shape: [...a.shape], data: a.data.map(f) };
}

// The numeric reference gradient re-evaluates an op once per input element, so index maps are computed once per
// shape and cached.
const maps = new Map<string, Int32Array>();

/** For each element of `to`, the flat index of the element of `from` that broadcasts onto it. */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const key = `b${from}|${to}`;
  let m = maps.get(key);
  if (!m) {
    const src: Arr = { shape: [...from], data: new Float64Array(size(from)).map((_, i) => i) };
    m = new Int32Array(size(to));
    for (let i = 0; i < m.length; i++) m[i] = at(src, unravel(i, to));
    maps.set(key, m);
  }
  return m;
}

export function zipN(arrays: Arr[], f: (...xs: number[]) => number): Arr {
  const shape = broadcastShape(...arrays.map((a) => a.shape));
  const out = arr(shape);
  const idx = arrays.map((a) => broadcastIndex(a.shape, shape));
  const args = new Array<number>(arrays.length);
  for (let i = 0; i < out.data.length; i++) {
    for (let k = 0; k < arrays.length; k++) args[k] = arrays[k].data[idx[k][i]];
    out.data[i] = f(...args);
  }
  return out;
}

export const zip = (a: Arr, b: Arr, f: (x: number, y: number) => number): Arr => zipN([a, b], f);

export function normAxes(axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  return list.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y);
}

/** Reduce with f over the values of each output cell (in index order). */
export function reduce(a: Arr, axes: number | number[] | undefined, keepdims: boolean, f: (values: number[]) => number): Arr {
  const ax = normAxes(axes, a.shape.length);
  const keptShape = a.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const key = `r${a.shape}|${ax}`;
  let cell = maps.get(key);
  if (!cell) {
    cell = new Int32Array(a.data.length);
    const ks = strides(keptShape);
    for (let i = 0; i < a.data.length; i++) {
      const idx = unravel(i, a.shape);
      let o = 0;
      idx.forEach((v, d) => (o += (ax.includes(d) ? 0 : v) * ks[d]));
      cell[i] = o;
    }
    maps.set(key, cell);
  }
  const groups: number[][] = Array.from({ length: size(keptShape) }, () => []);
  for (let i = 0; i < a.data.length; i++) groups[cell[i]].push(a.data[i]);
  const out = arr(keepdims ? keptShape : a.shape.filter((_, i) => !ax.includes(i)));
  for (let o = 0; o < out.data.length; o++) out.data[o] = f(groups[o]);
  return out;
}

export const sumOf = (v: number[]): number => v.reduce((x, y) => x + y, 0);

/** Batched matmul with broadcast batch dims and optional transposes. */
export function matmul(a: Arr, b: Arr, transA = false, transB = false): Arr {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const n = transB ? br : bc;
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = arr([...batch, m, n]);
  const aBatch: Arr = { shape: a.shape.slice(0, -2), data: new Float64Array(size(a.shape.slice(0, -2))).map((_, i) => i) };
  const bBatch: Arr = { shape: b.shape.slice(0, -2), data: new Float64Array(size(b.shape.slice(0, -2))).map((_, i) => i) };
  for (let bi = 0; bi < size(batch); bi++) {
    const idx = unravel(bi, batch);
    const ao = at(aBatch, idx) * ar * ac;
    const bo = at(bBatch, idx) * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a.data[ao + p * ac + i] : a.data[ao + i * ac + p];
          const bv = transB ? b.data[bo + j * bc + p] : b.data[bo + p * bc + j];
          s += av * bv;
        }
        out.data[bi * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

export function permute(a: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => a.shape[p]);
  const out = arr(shape);
  const s = strides(a.shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    idx.forEach((v, d) => (off += v * s[perm[d]]));
    out.data[i] = a.data[off];
  }
  return out;
}

export function slice(a: Arr, begin: number[], end: number[]): Arr {
  const shape = a.shape.map((d, i) => (end[i] ?? d) - (begin[i] ?? 0));
  const out = arr(shape);
  const s = strides(a.shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    let off = 0;
    idx.forEach((v, d) => (off += (v + (begin[d] ?? 0)) * s[d]));
    out.data[i] = a.data[off];
  }
  return out;
}

export function concat(xs: Arr[], axis: number): Arr {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
  const out = arr(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    let k = idx[axis];
    let which = 0;
    while (k >= xs[which].shape[axis]) k -= xs[which++].shape[axis];
    const local = [...idx];
    local[axis] = k;
    out.data[i] = at(xs[which], local);
  }
  return out;
}

export function gather(a: Arr, index: number[], axis: number): Arr {
  const shape = [...a.shape];
  shape[axis] = index.length;
  const out = arr(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    idx[axis] = index[idx[axis]];
    out.data[i] = at(a, idx);
  }
  return out;
}

export function expand(a: Arr, shape: number[]): Arr {
  const out = arr(shape);
  const idx = broadcastIndex(a.shape, shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[idx[i]];
  return out;
}

export function reshape(a: Arr, shape: number[]): Arr {
  return { shape: [...shape], data: a.data };
}

/** erf-free GELU, tanh form (the one the engine implements). */
export const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// Losses and similarity (float64, numerically stable forms; the engine's contracts for bad input included).

/** Mean cross-entropy of logits [n, c] against integer labels; a label outside [0, c) makes the loss NaN. */
export function crossEntropy(logits: Arr, labels: readonly number[]): Arr {
  const [n, c] = logits.shape;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = logits.data.subarray(i * c, (i + 1) * c);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    const label = labels[i];
    total += Number.isInteger(label) && label >= 0 && label < c ? m + Math.log(s) - row[label] : NaN;
  }
  return arr([], [total / n]);
}

/** Mean binary cross-entropy with logits: max(x, 0) - x y + log(1 + exp(-|x|)). */
export function bceWithLogits(x: Arr, y: Arr): Arr {
  const l = zip(x, y, (u, t) => Math.max(u, 0) - u * t + Math.log1p(Math.exp(-Math.abs(u))));
  return arr([], [sumOf([...l.data]) / l.data.length]);
}

export function mse(a: Arr, b: Arr): Arr {
  const d = zip(a, b, (u, v) => (u - v) ** 2);
  return arr([], [sumOf([...d.data]) / d.data.length]);
}

/** x / max(||x||, eps) along one axis, as torch.nn.functional.normalize. */
export function l2Normalize(x: Arr, axis: number, eps = 1e-12): Arr {
  const norm = reduce(x, axis, true, (v) => Math.max(Math.sqrt(sumOf(v.map((t) => t * t))), eps));
  return zip(x, norm, (u, nrm) => u / nrm);
}

/** Cosine similarity of every row of a [n, d] with every row of b [m, d]. */
export function cosineSimilarityMatrix(a: Arr, b: Arr): Arr {
  return matmul(l2Normalize(a, 1), l2Normalize(b, 1), false, true);
}
