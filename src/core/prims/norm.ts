// Kernel launches for layer normalization over the last axis: the forward pass (optionally with the affine part,
// a weight and bias per group of rows), which also returns each row's 1 / sqrt(var + eps) (and mean, when affine),
// and its backward pass.
import { engine } from '../engine.ts';
import { standIn } from './stand-in.ts';
import { Tensor } from '../tensor.ts';
import { fmt, sameShape, sizeOf } from '../shape.ts';

function rowsOf(what: string, x: Tensor): { rows: number; d: number } {
  if (x.dtype !== 'f32') throw new Error(`${what}: expects an f32 tensor, got ${x.dtype} ${fmt(x.shape)}`);
  if (x.rank === 0) throw new Error(`${what}: needs at least one axis, got a scalar`);
  const d = x.shape[x.rank - 1];
  return { rows: d === 0 ? 0 : x.size / d, d };
}

/** The affine part: weight and bias of shape [...lead, d], lead a prefix of x's leading axes (none: shared). */
export interface LayerNormAffine {
  weight: Tensor;
  bias: Tensor;
}

/** Rows per weight row: x's rows split evenly among prod(lead) groups, checked against x's shape. */
export function affineGroups(x: Tensor, a: LayerNormAffine): number {
  const d = x.shape[x.rank - 1];
  for (const [name, t] of [['weight', a.weight], ['bias', a.bias]] as const) {
    const lead = t.shape.slice(0, -1);
    const ok = t.dtype === 'f32' && t.rank >= 1 && t.shape[t.rank - 1] === d && lead.length < x.rank && lead.every((s, i) => s === x.shape[i]);
    if (!ok) {
      throw new Error(`layerNorm: ${name} ${t.dtype} ${fmt(t.shape)} must be f32 [..., ${d}] whose leading axes are the first of the input's ${fmt(x.shape)}`);
    }
  }
  if (!sameShape(a.weight.shape, a.bias.shape)) throw new Error(`layerNorm: weight ${fmt(a.weight.shape)} and bias ${fmt(a.bias.shape)} differ`);
  const groups = sizeOf(a.weight.shape.slice(0, -1));
  const rows = d === 0 ? 0 : x.size / d;
  return groups === 0 ? rows : rows / groups;
}

/** y = (x - mean) / sqrt(var + eps) over the last axis (biased variance), times weight plus bias when `affine`; rstd
 * [rows] (and mean [rows] when affine) for the backward pass. */
export function layerNormK(x: Tensor, eps: number, affine?: LayerNormAffine): { y: Tensor; rstd: Tensor; mean: Tensor | null } {
  if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`layerNorm: eps must be a number >= 0, got ${eps}`);
  const { rows, d } = rowsOf('layerNorm', x);
  const perGroup = affine ? affineGroups(x, affine) : rows;
  const y = Tensor.empty(x.shape, 'f32', 'layerNorm');
  const rstd = Tensor.empty([rows], 'f32', 'layerNorm rstd');
  const mean = affine ? Tensor.empty([rows], 'f32', 'layerNorm mean') : null;
  if (rows > 0) {
    const e = engine();
    e.run('layer_norm', {
      constants: { AFFINE: !!affine },
      // Without the affine part its bindings are never touched: x stands in for weight and bias.
      buffers: { x: x.buffer, y: y.buffer, rstd: rstd.buffer, mean_out: mean?.buffer ?? standIn(e), weight: (affine?.weight ?? x).buffer, bias: (affine?.bias ?? x).buffer },
      params: { rows, d, eps, rows_per_group: Math.max(1, perGroup) },
      threads: rows,
    });
  }
  return { y, rstd, mean };
}

/** dx = rstd * (g - mean(g) - y * mean(g * y)) per row, from the upstream gradient, the normalized output and rstd. */
export function layerNormBackwardK(g: Tensor, y: Tensor, rstd: Tensor): Tensor {
  if (!sameShape(g.shape, y.shape)) throw new Error(`layerNorm backward: gradient ${fmt(g.shape)} does not match output ${fmt(y.shape)}`);
  const { rows, d } = rowsOf('layerNorm backward', g);
  const dx = Tensor.empty(g.shape, 'f32', 'layerNorm grad');
  if (rows > 0) {
    const e = engine();
    e.run('layer_norm_backward', {
      constants: { AFFINE: false },
      buffers: { g: g.buffer, saved: y.buffer, rstd: rstd.buffer, dx: dx.buffer, mean_in: rstd.buffer, weight: g.buffer, gxhat: standIn(e) },
      params: { rows, d, rows_per_group: 1 },
      threads: rows,
    });
  }
  return dx;
}

/** The affine form's backward: dx, and g * xhat (summed over rows by the caller into the weight's gradient), from the
 * upstream gradient, the layer's input x, the rows' mean and rstd, and the weight. */
export function layerNormAffineBackwardK(g: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, affine: LayerNormAffine): { dx: Tensor; gxhat: Tensor } {
  if (!sameShape(g.shape, x.shape)) throw new Error(`layerNorm backward: gradient ${fmt(g.shape)} does not match input ${fmt(x.shape)}`);
  const { rows, d } = rowsOf('layerNorm backward', g);
  const perGroup = affineGroups(x, affine);
  const dx = Tensor.empty(g.shape, 'f32', 'layerNorm grad');
  const gxhat = Tensor.empty(g.shape, 'f32', 'layerNorm g * xhat');
  if (rows > 0) {
    engine().run('layer_norm_backward', {
      constants: { AFFINE: true },
      buffers: { g: g.buffer, saved: x.buffer, rstd: rstd.buffer, dx: dx.buffer, mean_in: mean.buffer, weight: affine.weight.buffer, gxhat: gxhat.buffer },
      params: { rows, d, rows_per_group: Math.max(1, perGroup) },
      threads: rows,
    });
  }
  return { dx, gxhat };
}
