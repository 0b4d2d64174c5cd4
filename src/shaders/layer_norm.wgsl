// Layer normalization of contiguous rows of length d: xhat = (x - mean) / sqrt(var + eps) with the biased variance,
// as nn.LayerNorm. A thread per row (rows are short in the zoo's ViT: d = 16..64). Without AFFINE, y = xhat and the
// row's rstd = 1 / sqrt(var + eps) is kept for the backward pass. With AFFINE, y = xhat * weight + bias (nn.LayerNorm's
// affine part in the same pass), the row's mean is kept too, and each group of rows_per_group consecutive rows has its
// own weight and bias row (one per model of a batch of stacked models; one group when they are shared).
override WG: u32 = 64u;
override AFFINE: bool = false;

struct Params { rows: u32, d: u32, eps: f32, rows_per_group: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.rows) { return; }
  let base = r * params.d;
  let n = f32(params.d);
  var s = 0.0;
  for (var j = 0u; j < params.d; j++) { s += x[base + j]; }
  let mean = s / n;
  // Two passes: the variance from deviations, not E[x^2] - mean^2, which cancels badly when |mean| >> std.
  var q = 0.0;
  for (var j = 0u; j < params.d; j++) {
    let c = x[base + j] - mean;
    q += c * c;
  }
  let inv = 1.0 / sqrt(q / n + params.eps);
  rstd[r] = inv;
  if (AFFINE) {
    let wb = (r / params.rows_per_group) * params.d;
    for (var j = 0u; j < params.d; j++) { y[base + j] = (x[base + j] - mean) * inv * weight[wb + j] + bias[wb + j]; }
    mean_out[r] = mean;
  } else {
    for (var j = 0u; j < params.d; j++) { y[base + j] = (x[base + j] - mean) * inv; }
  }
}
