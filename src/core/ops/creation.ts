// Making tensors: from host data (an upload), or filled on the GPU (no upload). Seeded random tensors are in random.ts.
import { engine } from '../engine.ts';
import { Tensor, type DType } from '../tensor.ts';
import { fmt, sizeOf, type Shape } from '../shape.ts';
import { fillK } from '../prims/elementwise.ts';

type HostData = ArrayLike<number> | Float32Array | Int32Array | Uint32Array;

function flatten(data: unknown, out: number[]): void {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(Number(data));
}

function inferShape(data: unknown): number[] {
  const shape: number[] = [];
  let d = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0];
  }
  return shape;
}

/** A tensor from host data: a typed array or (nested) number array, with an optional shape. */
export function tensor(data: HostData | number | readonly unknown[], shape?: Shape, dtype?: DType): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else if (ArrayBuffer.isView(data)) {
    flat = data as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    const list: number[] = [];
    flatten(data, list);
    flat = list;
    inferred = inferShape(data);
  }
  const s = shape ? [...shape] : inferred;
  if (sizeOf(s) !== flat.length) throw new Error(`tensor: ${flat.length} values do not fill shape ${fmt(s)}`);
  const dt: DType = dtype ?? (data instanceof Int32Array ? 'i32' : data instanceof Uint32Array ? 'u32' : 'f32');
  const host = dt === 'f32' ? Float32Array.from(flat) : dt === 'i32' ? Int32Array.from(flat) : Uint32Array.from(flat);
  if (dt !== 'f32') {
    for (let i = 0; i < flat.length; i++) {
      if (host[i] !== flat[i]) throw new Error(`tensor: value ${flat[i]} at ${i} is not representable as ${dt}`);
    }
  }
  const t = Tensor.empty(s, dt, 'tensor');
  if (host.byteLength > 0) engine().upload(t.buffer, host);
  return t;
}

export function full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  return fillK(shape, value, dtype);
}

export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  return fillK(shape, 0, dtype);
}

export function ones(shape: Shape, dtype: DType = 'f32'): Tensor {
  return fillK(shape, 1, dtype);
}

export function zerosLike(t: Tensor): Tensor {
  return fillK(t.shape, 0, t.dtype);
}

/** A leaf tensor that collects gradients. */
export function parameter(t: Tensor, name?: string): Tensor {
  if (t.madeBy) throw new Error(`parameter: a result of ${t.madeBy} ${t.toString()} is part of a graph, not a leaf; detach() it first`);
  t.requiresGrad = true;
  if (name) t.name = name;
  return t;
}
