// Matmul variant "naive": one thread per output element, a plain loop over K reading A and B from global memory.
// The correctness baseline for the other variants; batched, transposes and edges as in matmul.wgsl.
override TRANS_A: bool = false; // A stored [K, M] instead of [M, K]
override TRANS_B: bool = false; // B stored [N, K] instead of [K, N]
override BIAS: bool = false;    // add bias (binding `bias`) to every row of C

struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch_rank: u32,
  batch_shape: vec4<u32>,
  a_batch_strides: vec4<u32>,
  b_batch_strides: vec4<u32>,
  batch_offset: u32, // first batch entry of this launch (a batch beyond the grid limit runs in slices)
  bias_stride: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// A Linear layer's bias added as the output is stored (BIAS): bias[batch * bias_stride + col], where bias_stride is 0
// when one bias vector serves every batch entry, N when each entry has its own. Saves a broadcast add's pass over C.
fn with_bias(v: f32, batch: u32, col: u32) -> f32 {
  if (BIAS) { return v + bias[batch * params.bias_stride + col]; }
  return v;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = gid.y;
  let col = gid.x;
  if (row >= params.m || col >= params.n) { return; }
  var rem = wid.z + params.batch_offset;
  var a_base = 0u;
  var b_base = 0u;
  for (var d = i32(params.batch_rank) - 1; d >= 0; d--) {
    let extent = params.batch_shape[d];
    let coord = rem % extent;
    rem = rem / extent;
    a_base += coord * params.a_batch_strides[d];
    b_base += coord * params.b_batch_strides[d];
  }
  // Element strides of op(A) along (row, k) and of op(B) along (k, col).
  let a_rs = select(params.k, 1u, TRANS_A);
  let a_ks = select(1u, params.m, TRANS_A);
  let b_ks = select(params.n, 1u, TRANS_B);
  let b_cs = select(1u, params.k, TRANS_B);
  var ai = a_base + row * a_rs;
  var bi = b_base + col * b_cs;
  var acc = 0.0;
  for (var kk = 0u; kk < params.k; kk++) {
    acc = fma(a[ai], b[bi], acc);
    ai += a_ks;
    bi += b_ks;
  }
  c[(wid.z + params.batch_offset) * params.m * params.n + row * params.n + col] = with_bias(acc, wid.z + params.batch_offset, col);
}
