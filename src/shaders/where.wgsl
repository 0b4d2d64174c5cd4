// where(cond, a, b) with numpy broadcasting of all three inputs (rank <= 8); cond is a float mask, nonzero = true.
override WG: u32 = 256u;
// The rank of the (coalesced) walk as a pipeline constant: the loop over axes unrolls and reads its extents and strides
// at fixed positions (lavapipe ran a rank-5 permute 1.7x faster than with the rank as a uniform).
override RANK: u32 = 1u;

struct Params {
  n: u32,
  shape: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> cond: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var rem = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  // One division per axis (a remainder costs a second one), none for axis 0, which takes what is left.
  for (var d = i32(RANK) - 1; d > 0; d--) {
    let k = u32(d);
    let extent = params.shape[k / 4u][k % 4u];
    let q = rem / extent;
    let c = rem - q * extent;
    rem = q;
    ic += c * params.c_strides[k / 4u][k % 4u];
    ia += c * params.a_strides[k / 4u][k % 4u];
    ib += c * params.b_strides[k / 4u][k % 4u];
  }
  ic += rem * params.c_strides[0].x;
  ia += rem * params.a_strides[0].x;
  ib += rem * params.b_strides[0].x;
  y[i] = select(b[ib], a[ia], cond[ic] != 0.0);
}
