// The chosen layer of a set of models, resident on the GPU: packed into shards that each fit one storage binding
// (a batch of wide layers does not), so training gathers minibatches on the GPU and never re-reads the files.
// LoRA layers stay factored (up [n, d_V, r], down [n, r, d_H]); X = up . down is never formed.
import { Tensor, engine, gatherRowsInto, keep, tensor, tidy } from '../../core/index.ts';
import { readLayer, type LayerMatrix } from './layers.ts';
import type { ModelSample } from './samples.ts';

/** One minibatch of layers: dense x [b, d_V, d_H], or LoRA factors. */
export type LayerBatch =
  | { kind: 'dense'; size: number; x: Tensor }
  | { kind: 'lora'; size: number; up: Tensor; down: Tensor };

export interface LayerShard {
  /** Index of its first model in the dataset. */
  start: number;
  count: number;
  x?: Tensor;
  up?: Tensor;
  down?: Tensor;
}

/** Models whose layers are trained on together: at most one binding of layer data, drawn from one shard or several. */
export interface MicroBatch {
  /** Indices into the dataset, grouped by shard in shard order. */
  global: Int32Array;
  /** The same models shard by shard: indices into each shard, in the order of `global`. */
  parts: { shard: LayerShard; local: Int32Array }[];
}

/** The default size of shards and micro-batches: one storage binding of this device, at most 1 GiB (lavapipe: 128
 * MiB; a real GPU takes a batch of 128 layers of 768 x 768 in one pass). */
export function bindingBytes(): number {
  return Math.min(2 ** 30, engine().device.limits.maxStorageBufferBindingSize);
}

export interface LayerDataOptions {
  /** Largest shard (default: bindingBytes()). */
  maxShardBytes?: number;
  log?: (s: string) => void;
}

/** The largest shard in bytes: the option, never more than one storage binding. */
function shardLimit(opts: LayerDataOptions): number {
  return Math.min(opts.maxShardBytes ?? bindingBytes(), engine().device.limits.maxStorageBufferBindingSize);
}

export class LayerData {
  private constructor(
    readonly layer: string,
    readonly kind: 'dense' | 'lora',
    /** d_V, d_H and (LoRA) the rank. */
    readonly rows: number,
    readonly cols: number,
    readonly rank: number,
    readonly count: number,
    readonly shards: LayerShard[],
  ) {}

  /** Bytes of one model's layer on the GPU. */
  get bytesPerModel(): number {
    return 4 * (this.kind === 'dense' ? this.rows * this.cols : this.rank * (this.rows + this.cols));
  }

  /** Reads `layer` from every model's file (only that tensor) and uploads it. */
  static load(samples: readonly ModelSample[], layer: string, opts: LayerDataOptions = {}): LayerData {
    if (samples.length === 0) throw new Error(`layer "${layer}": no models to load`);
    const first = readLayer(samples[0].path, layer);
    return LayerData.fromMatrices(layer, samples.length, (i) => (i === 0 ? first : readLayer(samples[i].path, layer)), (i) => samples[i].path, opts);
  }

  /** From matrices produced on the fly (synthetic data, tests, benchmarks). */
  static fromMatrices(layer: string, count: number, get: (i: number) => LayerMatrix, where: (i: number) => string = (i) => `model ${i}`, opts: LayerDataOptions = {}): LayerData {
    const m0 = get(0);
    const rank = m0.kind === 'lora' ? m0.rank : 0;
    const per = m0.kind === 'dense' ? m0.rows * m0.cols : rank * (m0.rows + m0.cols);
    const limit = shardLimit(opts);
    const perShard = Math.max(1, Math.floor(limit / (4 * Math.max(m0.rows * m0.cols, m0.kind === 'lora' ? rank * Math.max(m0.rows, m0.cols) : 0, per))));
    if (4 * (m0.kind === 'dense' ? per : rank * Math.max(m0.rows, m0.cols)) > limit) {
      throw new Error(`layer "${layer}": one model's ${m0.rows} x ${m0.cols} matrix is larger than one storage binding (${limit} bytes)`);
    }
    const shards: LayerShard[] = [];
    for (let start = 0; start < count; start += perShard) {
      const n = Math.min(perShard, count - start);
      const a = new Float32Array(n * (m0.kind === 'dense' ? m0.rows * m0.cols : m0.rows * rank));
      const b = m0.kind === 'lora' ? new Float32Array(n * rank * m0.cols) : null;
      for (let j = 0; j < n; j++) {
        const i = start + j;
        const m = i === 0 ? m0 : get(i);
        if (m.kind !== m0.kind || m.rows !== m0.rows || m.cols !== m0.cols || (m.kind === 'lora' && m.rank !== rank)) {
          const d = (x: LayerMatrix): string => `${x.kind} ${x.rows} x ${x.cols}${x.kind === 'lora' ? ` rank ${x.rank}` : ''}`;
          throw new Error(`${where(i)}: layer "${layer}" is ${d(m)}, but ${where(0)} has ${d(m0)}; a tree's models must share the layer's shape`);
        }
        if (m.kind === 'dense') a.set(m.data, j * m.data.length);
        else {
          a.set(m.up, j * m.up.length);
          b!.set(m.down, j * m.down.length);
        }
      }
      shards.push(
        m0.kind === 'dense'
          ? { start, count: n, x: keep(tensor(a, [n, m0.rows, m0.cols])) }
          : { start, count: n, up: keep(tensor(a, [n, m0.rows, rank])), down: keep(tensor(b!, [n, rank, m0.cols])) },
      );
      opts.log?.(`  ${layer}: ${start + n}/${count} models loaded`);
    }
    return new LayerData(layer, m0.kind, m0.rows, m0.cols, rank, count, shards);
  }

  /** Dense layers computed on the device a shard at a time (synthetic data too large to build on the CPU):
   * make(start, n) returns the [n, rows, cols] layers of models start..start+n-1, kept by the shard. */
  static generate(layer: string, count: number, rows: number, cols: number, make: (start: number, n: number) => Tensor, opts: LayerDataOptions = {}): LayerData {
    const limit = shardLimit(opts);
    if (4 * rows * cols > limit) throw new Error(`layer "${layer}": one model's ${rows} x ${cols} matrix is larger than one storage binding (${limit} bytes)`);
    const perShard = Math.floor(limit / (4 * rows * cols));
    const shards: LayerShard[] = [];
    try {
      for (let start = 0; start < count; start += perShard) {
        const n = Math.min(perShard, count - start);
        const x = make(start, n);
        if (x.shape.join() !== [n, rows, cols].join()) {
          x.dispose();
          throw new Error(`layer "${layer}": models ${start}..${start + n - 1} came as [${x.shape.join(', ')}], not [${n}, ${rows}, ${cols}]`);
        }
        shards.push({ start, count: n, x });
        opts.log?.(`  ${layer}: ${start + n}/${count} models generated`);
      }
    } catch (e) {
      for (const sh of shards) sh.x!.dispose();
      throw e;
    }
    return new LayerData(layer, 'dense', rows, cols, 0, count, shards);
  }

  /** Groups dataset indices into micro-batches of at most `maxBytes` (0: bindingBytes()) of layer data each. A
   * micro-batch may draw on several shards: a random minibatch of a sharded layer (a wide tree's, the scale
   * benchmark's) then stays one micro-batch of the same size every step, rather than one per shard of random sizes
   * (each step a new set of tensor sizes: new buffers and bind groups, and a forward and backward pass per shard). */
  microBatches(indices: ArrayLike<number>, maxBytes = 0, perModelBytes = this.bytesPerModel): MicroBatch[] {
    maxBytes ||= bindingBytes();
    const perBatch = Math.max(1, Math.floor(maxBytes / Math.max(this.bytesPerModel, perModelBytes)));
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw new Error(`layer data: index ${i} outside 0..${this.count - 1}`);
    }
    const all = Array.from(indices);
    const out: MicroBatch[] = [];
    for (let k = 0; k < all.length; k += perBatch) {
      const chunk = all.slice(k, k + perBatch);
      const byShard = this.shards.map((): number[] => []);
      for (const i of chunk) byShard[this.shardOf(i)].push(i);
      const parts = byShard.flatMap((list, s) => (list.length ? [{ shard: this.shards[s], local: Int32Array.from(list, (g) => g - this.shards[s].start) }] : []));
      out.push({ global: Int32Array.from(byShard.flat()), parts });
    }
    return out;
  }

  private shardOf(i: number): number {
    return Math.floor(i / this.shards[0].count);
  }

  /** The layers of one micro-batch: a whole shard in order is used as is; otherwise each shard's models are gathered
   * on the GPU straight into one tensor, in the order of `global`, through one index upload. The step's tensors then
   * have the same sizes every step, however the minibatch falls across shards. */
  batch(mb: MicroBatch): LayerBatch {
    const n = mb.global.length;
    const [first] = mb.parts;
    if (mb.parts.length === 1 && first.local.length === first.shard.count && first.local.every((v, k) => v === k)) {
      return this.kind === 'dense' ? { kind: 'dense', size: n, x: first.shard.x! } : { kind: 'lora', size: n, up: first.shard.up!, down: first.shard.down! };
    }
    const local = new Int32Array(n);
    mb.parts.reduce((at, p) => (local.set(p.local, at), at + p.local.length), 0);
    return tidy(() => {
      const index = tensor(local, [n], 'i32');
      const fill = (of: (sh: LayerShard) => Tensor): Tensor => {
        const src = of(first.shard);
        const out = Tensor.empty([n, ...src.shape.slice(1)], src.dtype, 'layer batch');
        mb.parts.reduce((at, p) => (gatherRowsInto(of(p.shard), index, out, at, p.local.length, at), at + p.local.length), 0);
        return out;
      };
      return this.kind === 'dense' ? { kind: 'dense', size: n, x: fill((sh) => sh.x!) } : { kind: 'lora', size: n, up: fill((sh) => sh.up!), down: fill((sh) => sh.down!) };
    });
  }

  dispose(): void {
    for (const s of this.shards) for (const t of [s.x, s.up, s.down]) t?.dispose();
  }
}
