// Reduction over the middle axis of a [outer, r, inner] view, one thread per output. Neighbouring threads read
// neighbouring `inner` elements, so loads coalesce when reducing over a non-last axis.
override WG: u32 = 256u;
override OP: u32 = 0u; // 0 sum, 1 max, 2 min

struct Params { outer: u32, r: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// Infinities built at run time (constant ones are WGSL compile errors), so max of [-inf] is -inf.
fn identity() -> f32 {
  var neg_inf = 0xff800000u;
  var pos_inf = 0x7f800000u;
  switch OP {
    case 1u: { return bitcast<f32>(neg_inf); }
    case 2u: { return bitcast<f32>(pos_inf); }
    default: { return 0.0; }
  }
}

fn combine(acc: f32, v: f32) -> f32 {
  switch OP {
    case 1u: { return max(acc, v); }
    case 2u: { return min(acc, v); }
    default: { return acc + v; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.outer * params.inner) { return; }
  let o = i / params.inner;
  let j = i % params.inner;
  var base = o * params.r * params.inner + j;
  var acc = identity();
  for (var k = 0u; k < params.r; k++) {
    acc = combine(acc, x[base]);
    base += params.inner;
  }
  y[i] = acc;
}
