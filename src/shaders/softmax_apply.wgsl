// Last pass of the multi-pass softmax: each element of [outer, r, inner] is normalized by its line's (max, sum of exp)
// pair from earlier passes: exp(x - m) / s, or (x - m) - log(s).
override WG: u32 = 256u;
override MODE: u32 = 0u; // 0 softmax, 1 log-softmax

struct Params { n: u32, r: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let line = params.r * params.inner;
  let o = i / line;
  let j = i % params.inner;
  let q = o * params.inner + j;
  if (MODE == 0u) {
    y[i] = exp(x[i] - m[q]) / s[q];
  } else {
    y[i] = (x[i] - m[q]) - log(s[q]);
  }
}
