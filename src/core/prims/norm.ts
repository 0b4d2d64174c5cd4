// Kernel launches for layer normalization over the last axis (no affine part): the forward pass, which also returns
// each row's 1 / sqrt(var + eps), and its backward pass.
import { engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { fmt, sameShape } from '../shape.ts';

function rowsOf(what: string, x: Tensor): { rows: number; d: number } {
  if (x.dtype !== 'f32') throw new Error(`${what}: expects an f32 tensor, got ${x.dtype} ${fmt(x.shape)}`);
  if (x.rank === 0) throw new Error(`${what}: needs at least one axis, got a scalar`);
  const d = x.shape[x.rank - 1];
  return { rows: d === 0 ? 0 : x.size / d, d };
}

/** y = (x - mean) / sqrt(var + eps) over the last axis (biased variance), and rstd [rows] for the backward pass. */
export function layerNormK(x: Tensor, eps: number): { y: Tensor; rstd: Tensor } {
  if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`layerNorm: eps must be a number >= 0, got ${eps}`);
  const { rows, d } = rowsOf('layerNorm', x);
  const y = Tensor.empty(x.shape, 'f32', 'layerNorm');
  const rstd = Tensor.empty([rows], 'f32', 'layerNorm rstd');
  if (rows > 0) {
    engine().run('layer_norm', { buffers: { x: x.buffer, y: y.buffer, rstd: rstd.buffer }, params: { rows, d, eps }, threads: rows });
  }
  return { y, rstd };
}

/** dx = rstd * (g - mean(g) - y * mean(g * y)) per row, from the upstream gradient, the output and rstd. */
export function layerNormBackwardK(g: Tensor, y: Tensor, rstd: Tensor): Tensor {
  if (!sameShape(g.shape, y.shape)) throw new Error(`layerNorm backward: gradient ${fmt(g.shape)} does not match output ${fmt(y.shape)}`);
  const { rows, d } = rowsOf('layerNorm backward', g);
  const dx = Tensor.empty(g.shape, 'f32', 'layerNorm grad');
  if (rows > 0) {
    engine().run('layer_norm_backward', { buffers: { g: g.buffer, y: y.buffer, rstd: rstd.buffer, dx: dx.buffer }, params: { rows, d }, threads: rows });
  }
  return dx;
}
