// The gradient of layer_norm for a row, a thread per row. Without AFFINE: dx = rstd * (g - mean(g) - y * mean(g * y))
// from the upstream gradient g, the normalized output y and the row's rstd. With AFFINE (y = xhat * weight + bias),
// xhat is recomputed from x and the row's mean and rstd, the same formula runs on g * weight, and g * xhat is written
// to gxhat, which the host sums over rows into the weight's gradient (the bias's is the sum of g).
override WG: u32 = 64u;
override AFFINE: bool = false;

struct Params { rows: u32, d: u32, rows_per_group: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
// The normalized output y, or with AFFINE the layer's input x.
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> mean_in: array<f32>;
@group(0) @binding(6) var<storage, read> weight: array<f32>;
@group(0) @binding(7) var<storage, read_write> gxhat: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.rows) { return; }
  let base = r * params.d;
  let n = f32(params.d);
  let s = rstd[r];
  if (AFFINE) {
    let mean = mean_in[r];
    let wb = (r / params.rows_per_group) * params.d;
    var sg = 0.0;
    var sgy = 0.0;
    for (var j = 0u; j < params.d; j++) {
      let xhat = (saved[base + j] - mean) * s;
      let gj = g[base + j] * weight[wb + j];
      sg += gj;
      sgy += gj * xhat;
    }
    let mg = sg / n;
    let mgy = sgy / n;
    for (var j = 0u; j < params.d; j++) {
      let xhat = (saved[base + j] - mean) * s;
      dx[base + j] = s * (g[base + j] * weight[wb + j] - mg - xhat * mgy);
      gxhat[base + j] = g[base + j] * xhat;
    }
    return;
  }
  var sg = 0.0;
  var sgy = 0.0;
  for (var j = 0u; j < params.d; j++) {
    sg += g[base + j];
    sgy += g[base + j] * saved[base + j];
  }
  let mg = sg / n;
  let mgy = sgy / n;
  for (var j = 0u; j < params.d; j++) { dx[base + j] = s * (g[base + j] - mg - saved[base + j] * mgy); }
}
