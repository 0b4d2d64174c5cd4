// The Tensor: a shape, a dtype and a GPU buffer (shared with reshaped views), plus the autograd fields. Tensors are
// freed explicitly with dispose() or by a tidy() scope; a scope frees what was created inside it unless returned or
// kept. Ops live in ops/ as functions, so this file depends on nothing above the engine.
import { engine, type Engine } from './engine.ts';
import { checkShape, fmt, sizeOf, type Shape } from './shape.ts';

export type DType = 'f32' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;

/** A buffer and the number of tensors that view it; returned to the pool when the last view is disposed. */
class Storage {
  refs = 1;
  constructor(
    readonly engine: Engine,
    public buffer: GPUBuffer | null,
  ) {}
  release(): void {
    if (--this.refs === 0 && this.buffer) {
      this.engine.pool.release(this.buffer);
      this.buffer = null;
    }
  }
}

/**
 * A gradient a rule can add into the input's accumulated gradient in place instead of materializing it whole (a
 * slice's touches only its region): into(acc) adds it to acc and returns acc, or with acc null returns a new full
 * gradient. backward() passes an accumulator only when no other tensor views it.
 */
export interface GradInto {
  shape: readonly number[];
  into(acc: Tensor | null): Tensor;
}

/** What an op records for backward: its inputs and a rule from the output gradient to input gradients. */
export interface GraphNode {
  op: string;
  inputs: Tensor[];
  backward: (grad: Tensor) => (Tensor | GradInto | null)[];
}

const scopes: Set<Tensor>[] = [];
let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  /** Leaves that want gradients (parameters) and outputs of ops on them. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf, filled by backward(). */
  grad: Tensor | null = null;
  node: GraphNode | null = null;
  /** The op that made this tensor, when it was recorded for autograd: it stays after backward frees `node`, so the
   * tensor is never taken for a leaf (a parameter) afterwards. */
  madeBy: string | null = null;
  name?: string;
  private storage: Storage | null;

  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    source: GPUBuffer | Tensor,
  ) {
    checkShape('Tensor', shape);
    this.size = sizeOf(shape);
    if (source instanceof Tensor) {
      const s = source.liveStorage('view');
      s.refs++;
      this.storage = s;
    } else {
      this.storage = new Storage(engine(), source);
    }
    scopes[scopes.length - 1]?.add(this);
  }

  /** A new tensor with a fresh (uninitialized) buffer from the pool. */
  static empty(shape: Shape, dtype: DType = 'f32', what = 'tensor'): Tensor {
    checkShape(what, shape);
    return new Tensor([...shape], dtype, engine().pool.acquire(sizeOf(shape) * 4, `${what} ${fmt(shape)}`));
  }

  private liveStorage(use: string): Storage {
    if (!this.storage || !this.storage.buffer) {
      throw new Error(`${use}: tensor ${fmt(this.shape)}${this.name ? ` "${this.name}"` : ''} was disposed`);
    }
    return this.storage;
  }

  get buffer(): GPUBuffer {
    return this.liveStorage('buffer').buffer!;
  }

  get engine(): Engine {
    return this.liveStorage('engine').engine;
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /** Whether no other tensor views this one's buffer (so it can be handed on instead of copied). */
  get soleView(): boolean {
    return this.storage !== null && this.storage.refs === 1;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** Copy to the host. Submits recorded work; the only way data leaves the GPU. */
  async data(): Promise<Float32Array | Int32Array | Uint32Array> {
    const bytes = await this.engine.read(this.buffer, this.byteLength);
    return this.dtype === 'f32' ? new Float32Array(bytes) : this.dtype === 'i32' ? new Int32Array(bytes) : new Uint32Array(bytes);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has shape ${fmt(this.shape)}, not one element`);
    return (await this.data())[0];
  }

  /**
   * Free the buffer (shared views keep it alive) and the gradient. Safe to call twice. The graph node stays, so
   * backward still passes through a freed intermediate whose value no rule needs.
   */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.grad?.dispose();
    this.grad = null;
    for (const s of scopes) s.delete(this);
  }

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.dtype}${this.disposed ? ', disposed' : ''})`;
  }
}

type Kept = Tensor | readonly Kept[] | { readonly [k: string]: Kept } | number | string | boolean | null | undefined | void;

function collect(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v, out);
}

/**
 * Run `fn` and dispose every tensor created inside it, except those in its return value (which move to the
 * enclosing scope) and those passed to keep(). Synchronous: ops only record GPU work, so no await is needed inside.
 */
export function tidy<T extends Kept>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // Nothing is returned from a throw: free what fn made, as a normal return would have.
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const returned = new Set<Tensor>();
  collect(result, returned);
  for (const t of scope) {
    if (returned.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

/** Exempt a tensor from every enclosing tidy() scope. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
