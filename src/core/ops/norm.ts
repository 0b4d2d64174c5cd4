// Normalization ops: layer normalization over the last axis, fused into one kernel each way (the composite of mean,
// subtract, square, mean, sqrt and divide costs about ten launches forward and more backward), with nn.LayerNorm's
// affine part (weight and bias) optionally in the same kernels.
import type { Tensor } from '../tensor.ts';
import { record, settle } from '../graph.ts';
import { layerNormK, layerNormBackwardK, layerNormAffineBackwardK } from '../prims/norm.ts';
import { sumToShape, viewAs } from '../prims/reduce.ts';

export interface LayerNormOptions {
  /** Scale per feature: [d], or [...lead, d] with lead the input's first axes (e.g. one row per stacked model). */
  weight?: Tensor;
  /** Shift per feature, the weight's shape. Both or neither. */
  bias?: Tensor;
}

/** (x - mean) / sqrt(var + eps) over the last axis, with the biased variance, then times weight plus bias when given
 * (nn.LayerNorm). */
export function layerNorm(x: Tensor, eps = 1e-5, opts: LayerNormOptions = {}): Tensor {
  const { weight, bias } = opts;
  if (!weight && !bias) {
    const { y, rstd } = layerNormK(x, eps);
    record(y, 'layerNorm', [x], (g) => [layerNormBackwardK(g, y, rstd)]);
    return settle(y, rstd);
  }
  if (!weight || !bias) throw new Error('layerNorm: give both weight and bias, or neither');
  const affine = { weight, bias };
  const { y, rstd, mean } = layerNormK(x, eps, affine);
  record(y, 'layerNorm', [x, weight, bias], (g) => {
    const { dx, gxhat } = layerNormAffineBackwardK(g, x, mean!, rstd, affine);
    // Weight and bias gradients: sums over every row of their group, the rows being all axes between lead and d.
    const grouped = [...weight.shape.slice(0, -1), ...new Array<number>(x.rank - weight.rank).fill(1), weight.shape[weight.rank - 1]];
    const sum = (t: Tensor): Tensor => {
      const s = sumToShape(t, grouped);
      const out = viewAs(s, weight.shape);
      s.dispose();
      return out;
    };
    const gw = weight.requiresGrad ? sum(gxhat) : null;
    const gb = bias.requiresGrad ? sum(g) : null;
    gxhat.dispose();
    return [dx, gw, gb];
  });
  return settle(y, rstd, mean!);
}
