// Split-K matmul, pass 2 of 2: c[i] = sum over the chunks s of part[s * total + i], in chunk order (deterministic),
// plus a Linear layer's bias when BIAS (as the other variants add it: bias[batch * bias_stride + col]).
override WG: u32 = 256u;
override BIAS: bool = false;

struct Params { total: u32, splits: u32, n: u32, mn: u32, bias_stride: u32 }

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.total) { return; }
  var acc = 0.0;
  for (var s = 0u; s < params.splits; s++) {
    acc += part[s * params.total + i];
  }
  if (BIAS) { acc += bias[(i / params.mn) * params.bias_stride + i % params.n]; }
  c[i] = acc;
}
