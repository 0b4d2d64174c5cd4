// Backward of gather: y[o, r, j] = sum over i with idx[i] == r of g[o, i, j]. One thread per output element loops
// over the indices; deterministic and free of float atomics, which WGSL lacks.
override WG: u32 = 256u;

struct Params { outer: u32, n: u32, inner: u32, m: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= params.outer * params.n * params.inner) { return; }
  let j = t % params.inner;
  let r = i32((t / params.inner) % params.n);
  let o = t / (params.inner * params.n);
  var acc = 0.0;
  for (var i = 0u; i < params.m; i++) {
    if (idx[i] == r) {
      acc += g[(o * params.m + i) * params.inner + j];
    }
  }
  y[t] = acc;
}
