// Linear layer, y = x W^T + b, with the weight stored [out, in] as in PyTorch and initialized like PyTorch's default:
// uniform in +-1/sqrt(in) for weight and bias.
import { Tensor, keep } from '../tensor.ts';
import { parameter } from '../ops/creation.ts';
import { uniform } from '../ops/random.ts';
import { matmul } from '../ops/matmul.ts';
import { Module } from './module.ts';

export interface LinearOptions {
  bias?: boolean;
  /** Seed for the initial weights; each layer should get its own. */
  seed: number;
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = keep(parameter(uniform([outFeatures, inFeatures], opts.seed * 2, -bound, bound), 'weight'));
    this.bias = opts.bias === false ? null : keep(parameter(uniform([outFeatures], opts.seed * 2 + 1, -bound, bound), 'bias'));
  }

  forward(x: Tensor): Tensor {
    return matmul(x, this.weight, { transB: true, bias: this.bias ?? undefined });
  }
}
