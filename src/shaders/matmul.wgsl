// Matmul variant "smem4x4" (the first kernel; src/core/prims/matmul.ts lists all variants and chooses between them).
// Batched matmul C[b] = op(A[b]) op(B[b]), op = optional transpose, so backward passes never materialize a
// transpose. Each workgroup computes a 64x64 tile of C through 16-deep K tiles staged in workgroup memory; each of its
// 16x16 threads keeps a 4x4 block of C in registers. Edges are bounds-checked: no size has to divide the tile.
// Batch dims (up to 4) broadcast through per-dim element strides (0 on a broadcast dim).
override TRANS_A: bool = false; // A stored [K, M] instead of [M, K]
override TRANS_B: bool = false; // B stored [N, K] instead of [K, N]
override BIAS: bool = false;    // add bias (binding `bias`) to every row of C

const TILE: u32 = 64u;
const TK: u32 = 16u;

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

var<workgroup> tile_a: array<array<f32, TILE>, TK>; // [k][m]
var<workgroup> tile_b: array<array<f32, TILE>, TK>; // [k][n]

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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let bz = wid.z + params.batch_offset;
  // Split the flat batch index into per-dim coordinates to find each operand's batch offset.
  var rem = bz;
  var a_base = 0u;
  var b_base = 0u;
  for (var d = i32(params.batch_rank) - 1; d >= 0; d--) {
    let extent = params.batch_shape[d];
    let coord = rem % extent;
    rem = rem / extent;
    a_base += coord * params.a_batch_strides[d];
    b_base += coord * params.b_batch_strides[d];
  }
  let c_base = bz * params.m * params.n;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;

  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }

  for (var t = 0u; t < params.k; t += TK) {
    // 256 threads stage a 64x16 slice of A and a 16x64 slice of B, four elements each.
    for (var l = 0u; l < 4u; l++) {
      let e = li + l * 256u;
      if (TRANS_A) {
        let mm = e % TILE;
        let kk = e / TILE;
        tile_a[kk][mm] = load_a(a_base, row0 + mm, t + kk);
      } else {
        let kk = e % TK;
        let mm = e / TK;
        tile_a[kk][mm] = load_a(a_base, row0 + mm, t + kk);
      }
      if (TRANS_B) {
        let kk = e % TK;
        let nn = e / TK;
        tile_b[kk][nn] = load_b(b_base, t + kk, col0 + nn);
      } else {
        let nn = e % TILE;
        let kk = e / TILE;
        tile_b[kk][nn] = load_b(b_base, t + kk, col0 + nn);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = tile_a[kk][lid.y * 4u + i];
        bv[i] = tile_b[kk][lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(av[i], bv[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y * 4u + i;
    if (row >= params.m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x * 4u + j;
      if (col < params.n) {
        c[c_base + row * params.n + col] = with_bias(acc[i * 4u + j], wid.z + params.batch_offset, col);
      }
    }
  }
}
