// Elementwise binary ops with numpy broadcasting (rank <= 8). A broadcast input has stride 0 along that axis. An
// input that already has the output's shape (A_FULL, B_FULL) is read at the output's own index: no index arithmetic
// and, on lavapipe, one vector load instead of a scalar load per lane.
override WG: u32 = 256u;
// The rank of the (coalesced) walk as a pipeline constant: the loop over axes unrolls and reads its extents and strides
// at fixed positions (lavapipe ran a rank-5 permute 1.7x faster than with the rank as a uniform).
override RANK: u32 = 1u;
override OP: u32 = 0u;
override A_FULL: bool = false;
override B_FULL: bool = false;

struct Params {
  n: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn apply(u: f32, v: f32) -> f32 {
  switch OP {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    case 3u: { return u / v; }
    case 4u: { return max(u, v); }
    case 5u: { return min(u, v); }
    case 6u: { return select(0.0, 1.0, u < v); }
    case 7u: { return select(0.0, 1.0, u <= v); }
    case 8u: { return select(0.0, 1.0, u > v); }
    case 9u: { return select(0.0, 1.0, u >= v); }
    case 10u: { return select(0.0, 1.0, u == v); }
    case 11u: { return select(0.0, 1.0, u != v); }
    default: { return u; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  if (A_FULL && B_FULL) {
    y[i] = apply(a[i], b[i]);
    return;
  }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  // One division per axis (a remainder costs a second one), none for axis 0, which takes what is left.
  for (var d = i32(RANK) - 1; d > 0; d--) {
    let k = u32(d);
    let extent = params.shape[k / 4u][k % 4u];
    let q = rem / extent;
    let c = rem - q * extent;
    rem = q;
    ia += c * params.a_strides[k / 4u][k % 4u];
    ib += c * params.b_strides[k / 4u][k % 4u];
  }
  ia += rem * params.a_strides[0].x;
  ib += rem * params.b_strides[0].x;
  var u: f32;
  var v: f32;
  if (A_FULL) { u = a[i]; } else { u = a[ia]; }
  if (B_FULL) { v = b[i]; } else { v = b[ib]; }
  y[i] = apply(u, v);
}
