// Matmul variant "tiled": the classic workgroup-memory kernel. Each 16x16 workgroup stages a 16x16 tile of op(A) and of
// op(B) per K step and every thread accumulates one output. Edge tiles load zeros; batched, transposes as in matmul.wgsl.
override TRANS_A: bool = false; // A stored [K, M] instead of [M, K]
override TRANS_B: bool = false; // B stored [N, K] instead of [K, N]
override BIAS: bool = false;    // add bias (binding `bias`) to every row of C

const TS: u32 = 16u;

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

var<workgroup> tile_a: array<array<f32, TS>, TS>; // [row][k]
var<workgroup> tile_b: array<array<f32, TS>, TS>; // [k][col]

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
  if (row >= params.m || kk >= params.k) { return 0.0; }
  if (TRANS_A) { return a[base + kk * params.m + row]; }
  return a[base + row * params.k + kk];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
  if (kk >= params.k || col >= params.n) { return 0.0; }
  if (TRANS_B) { return b[base + col * params.k + kk]; }
  return b[base + kk * params.n + col];
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
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
  let row0 = wid.y * TS;
  let col0 = wid.x * TS;
  var acc = 0.0;
  for (var t = 0u; t < params.k; t += TS) {
    // With A transposed, neighbouring threads (lid.x) walk along M, which is contiguous in memory.
    if (TRANS_A) {
      tile_a[lid.x][lid.y] = load_a(a_base, row0 + lid.x, t + lid.y);
    } else {
      tile_a[lid.y][lid.x] = load_a(a_base, row0 + lid.y, t + lid.x);
    }
    if (TRANS_B) {
      tile_b[lid.x][lid.y] = load_b(b_base, t + lid.x, col0 + lid.y);
    } else {
      tile_b[lid.y][lid.x] = load_b(b_base, t + lid.y, col0 + lid.x);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TS; kk++) {
      acc = fma(tile_a[lid.y][kk], tile_b[kk][lid.x], acc);
    }
    workgroupBarrier();
  }
  let row = row0 + lid.y;
  let col = col0 + lid.x;
  if (row < params.m && col < params.n) {
    c[(wid.z + params.batch_offset) * params.m * params.n + row * params.n + col] = with_bias(acc, wid.z + params.batch_offset, col);
  }
}
