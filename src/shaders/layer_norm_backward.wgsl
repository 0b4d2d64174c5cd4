// The gradient of layer_norm for a row: dx = rstd * (g - mean(g) - y * mean(g * y)), from the upstream gradient g,
// the normalized output y and the row's rstd. A thread per row.
override WG: u32 = 64u;

struct Params { rows: u32, d: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= params.rows) { return; }
  let base = r * params.d;
  let n = f32(params.d);
  var sg = 0.0;
  var sgy = 0.0;
  for (var j = 0u; j < params.d; j++) {
    sg += g[base + j];
    sgy += g[base + j] * y[base + j];
  }
  let mg = sg / n;
  let mgy = sgy / n;
  let s = rstd[r];
  for (var j = 0u; j < params.d; j++) { dx[base + j] = s * (g[base + j] - mg - y[base + j] * mgy); }
}
