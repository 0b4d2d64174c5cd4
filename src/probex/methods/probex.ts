// ProbeX (Horwitz et al.): learned probes U are passed through the layer (P = X U), a shared projection V reads the
// responses (Q = ReLU(V^T P)), and per-probe encoders M_l summed (flatten probe-major, one Linear) give the
// representation e = b + sum_l M_l Q[:, l]. A LoRA layer is probed as up (down U), never forming X.
import { Linear, keep, matmul, parameter, relu, reshape, uniform, type Tensor } from '../../core/index.ts';
import type { LayerBatch } from '../data/dataset.ts';
import { WeightEncoder, type EncoderConfig, type EncoderInput } from './encoder.ts';

export interface ProbeXConfig {
  /** The layer's d_V x d_H. */
  rows: number;
  cols: number;
  /** r_U probes, r_V projection size, r_T representation size. */
  probes: number;
  proj: number;
  rep: number;
  seed: number;
}

export const PROBEX_DEFAULTS = { probes: 128, proj: 128, rep: 128 };

export class ProbeX extends WeightEncoder {
  readonly method = 'probex';
  /** U [d_H, r_U]: one probe per column. PyTorch keeps it as Linear(r_U, d_H).weight, hence the +-1/sqrt(r_U) init. */
  readonly probes: Tensor;
  /** V stored [r_V, d_V] as PyTorch's Linear(d_V, r_V, bias=False).weight. */
  readonly proj: Tensor;
  readonly encoder: Linear;

  constructor(readonly cfg: ProbeXConfig) {
    super();
    for (const k of ['rows', 'cols', 'probes', 'proj', 'rep'] as const) {
      if (!(Number.isInteger(cfg[k]) && cfg[k] > 0)) throw new Error(`probex: ${k} must be a positive whole number, got ${cfg[k]}`);
    }
    const bu = 1 / Math.sqrt(cfg.probes);
    const bv = 1 / Math.sqrt(cfg.rows);
    this.probes = keep(parameter(uniform([cfg.cols, cfg.probes], cfg.seed * 4 + 1, -bu, bu), 'probes'));
    this.proj = keep(parameter(uniform([cfg.proj, cfg.rows], cfg.seed * 4 + 2, -bv, bv), 'proj'));
    this.encoder = new Linear(cfg.probes * cfg.proj, cfg.rep, { seed: cfg.seed * 4 + 3 });
  }

  get outDim(): number {
    return this.cfg.rep;
  }

  config(): EncoderConfig {
    return { ...this.cfg };
  }

  /** P = X U: [b, d_V, r_U]. */
  responses(layer: LayerBatch): Tensor {
    if (layer.kind === 'dense') return matmul(layer.x, this.probes);
    return matmul(layer.up, matmul(layer.down, this.probes));
  }

  encode({ layer }: EncoderInput): Tensor {
    const p = this.responses(layer);
    // Q^T = P^T V^T: [b, r_U, r_V], so flattening its rows is probe-major, as the paper's code.
    const q = relu(matmul(p, this.proj, { transA: true, transB: true }));
    return this.encoder.forward(reshape(q, [layer.size, this.cfg.probes * this.cfg.proj]));
  }
}
