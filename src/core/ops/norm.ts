// Normalization ops: layer normalization over the last axis, fused into one kernel each way (the composite of mean,
// subtract, square, mean, sqrt and divide costs about ten launches forward and more backward).
import type { Tensor } from '../tensor.ts';
import { record, settle } from '../graph.ts';
import { layerNormK, layerNormBackwardK } from '../prims/norm.ts';

/** (x - mean) / sqrt(var + eps) over the last axis, with the biased variance (nn.LayerNorm without its affine part;
 * scale and shift with mul and add). */
export function layerNorm(x: Tensor, eps = 1e-5): Tensor {
  const { y, rstd } = layerNormK(x, eps);
  record(y, 'layerNorm', [x], (g) => [layerNormBackwardK(g, y, rstd)]);
  return settle(y, rstd);
}
