// The Dense baseline (the paper's dense expert): one linear map from the whole flattened layer, y = W vec(X) + b,
// optionally on weights z-scored entry by entry over the training models (the stronger form). W is stored in blocks
// of layer rows so that each block fits one storage binding; a LoRA layer is formed as up . down per minibatch.
import { add, engine, keep, matmul, mul, parameter, reshape, slice, sub, tensor, uniform, type Tensor } from '../../core/index.ts';
import type { LayerBatch } from '../data/dataset.ts';
import { WeightEncoder, type EncoderConfig, type EncoderInput } from './encoder.ts';

export interface DenseConfig {
  rows: number;
  cols: number;
  out: number;
  seed: number;
  /** Entries z-scored with the training models' mean and standard deviation. */
  zscore: boolean;
}

export interface ZStats {
  mean: Float32Array;
  std: Float32Array;
}

export class Dense extends WeightEncoder {
  readonly method: string;
  readonly blocks: Tensor[];
  readonly bias: Tensor;
  /** Layer rows per weight block. */
  readonly blockRows: number;
  private zMean: Tensor | null = null;
  private zInv: Tensor | null = null;

  /** `maxBlockBytes` caps each weight block (default: one storage binding, at most 128 MiB). */
  constructor(readonly cfg: DenseConfig, opts: { maxBlockBytes?: number } = {}) {
    super();
    this.method = cfg.zscore ? 'dense-z' : 'dense';
    const fan = cfg.rows * cfg.cols;
    const bound = 1 / Math.sqrt(fan);
    const limit = Math.min(opts.maxBlockBytes ?? 128 * 2 ** 20, engine().device.limits.maxStorageBufferBindingSize);
    this.blockRows = Math.max(1, Math.min(cfg.rows, Math.floor(limit / (4 * cfg.out * cfg.cols))));
    if (4 * cfg.out * cfg.cols > limit) throw new Error(`dense: one row of the layer (${cfg.cols}) times ${cfg.out} outputs exceeds one storage binding`);
    this.blocks = [];
    for (let r0 = 0, k = 0; r0 < cfg.rows; r0 += this.blockRows, k++) {
      const rows = Math.min(this.blockRows, cfg.rows - r0);
      this.blocks.push(keep(parameter(uniform([cfg.out, rows * cfg.cols], cfg.seed * 64 + k, -bound, bound), `block${k}`)));
    }
    this.bias = keep(parameter(uniform([cfg.out], cfg.seed * 64 + 63, -bound, bound), 'bias'));
  }

  get outDim(): number {
    return this.cfg.out;
  }

  config(): EncoderConfig {
    return { ...this.cfg };
  }

  /** Sets the z-score statistics (required when cfg.zscore); they travel in checkpoints as constants. */
  setStats(s: ZStats): void {
    const n = this.cfg.rows * this.cfg.cols;
    if (s.mean.length !== n || s.std.length !== n) throw new Error(`dense: z-score statistics have ${s.mean.length} entries, the layer ${n}`);
    this.zMean?.dispose();
    this.zInv?.dispose();
    this.zMean = keep(tensor(s.mean, [this.cfg.rows, this.cfg.cols]));
    this.zInv = keep(tensor(s.std.map((v) => 1 / (v + 1e-8)), [this.cfg.rows, this.cfg.cols]));
  }

  stats(): { mean: Tensor; inv: Tensor } | null {
    return this.zMean && this.zInv ? { mean: this.zMean, inv: this.zInv } : null;
  }

  private matrix(layer: LayerBatch): Tensor {
    const x = layer.kind === 'dense' ? layer.x : matmul(layer.up, layer.down);
    if (!this.cfg.zscore) return x;
    if (!this.zMean || !this.zInv) throw new Error('dense-z: z-score statistics were not set (call setStats with the training models)');
    return mul(sub(x, this.zMean), this.zInv);
  }

  encode({ layer }: EncoderInput): Tensor {
    const x = this.matrix(layer);
    const { rows, cols } = this.cfg;
    let y: Tensor | null = null;
    for (let k = 0; k < this.blocks.length; k++) {
      const r0 = k * this.blockRows;
      const r1 = Math.min(rows, r0 + this.blockRows);
      const part = this.blocks.length === 1 ? x : slice(x, [0, r0, 0], [layer.size, r1, cols]);
      const yk = matmul(reshape(part, [layer.size, (r1 - r0) * cols]), this.blocks[k], { transB: true });
      y = y ? add(y, yk) : yk;
    }
    return add(y!, this.bias);
  }

  override dispose(): void {
    super.dispose();
    this.zMean?.dispose();
    this.zInv?.dispose();
  }
}

/** Per-entry mean and standard deviation over models, accumulated one matrix at a time in float64 (the training
 * layers of a wide tree do not all fit in host memory at once). */
export class EntryMoments {
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  private n = 0;
  constructor(readonly size: number) {
    this.s1 = new Float64Array(size);
    this.s2 = new Float64Array(size);
  }
  add(m: ArrayLike<number>): void {
    if (m.length !== this.size) throw new Error(`z-score: a matrix has ${m.length} entries, expected ${this.size}`);
    for (let i = 0; i < this.size; i++) {
      this.s1[i] += m[i];
      this.s2[i] += m[i] * m[i];
    }
    this.n++;
  }
  result(): ZStats {
    if (this.n === 0) throw new Error('z-score: no training models');
    const mean = new Float32Array(this.size);
    const std = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) {
      mean[i] = this.s1[i] / this.n;
      std[i] = Math.sqrt(Math.max(0, this.s2[i] / this.n - (this.s1[i] / this.n) ** 2));
    }
    return { mean, std };
  }
}
