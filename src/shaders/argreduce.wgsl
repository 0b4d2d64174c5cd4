// argmax / argmin over the middle axis of a [outer, r, inner] view, one thread per output; ties pick the first index.
override WG: u32 = 256u;
override OP: u32 = 0u; // 0 argmax, 1 argmin

struct Params { outer: u32, r: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<i32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.outer * params.inner) { return; }
  let o = i / params.inner;
  let j = i % params.inner;
  let base = o * params.r * params.inner + j;
  var best = x[base];
  var best_k = 0u;
  for (var k = 1u; k < params.r; k++) {
    let v = x[base + k * params.inner];
    let better = select((v < best), (v > best), OP == 0u);
    if (better) {
      best = v;
      best_k = k;
    }
  }
  y[i] = i32(best_k);
}
