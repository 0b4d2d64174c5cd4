// Matmul variant "smem8x8": 128x128 output tile per workgroup staged through workgroup memory in 8-deep K slices,
// each of the 16x16 threads accumulating an 8x8 block in registers (rows ty + 16i, columns tx + 16j, so neighbouring
// threads touch neighbouring words). Global loads are vec4 where the contiguous dimension is a multiple of 4
// (VEC_A / VEC_B, bound as a4 / b4) and the quad lies inside the matrix; edges fall back to bounds-checked scalars.
override TRANS_A: bool = false; // A stored [K, M] instead of [M, K]
override TRANS_B: bool = false; // B stored [N, K] instead of [K, N]
override BIAS: bool = false;    // add bias (binding `bias`) to every row of C
override VEC_A: bool = false;   // a4 is A itself and A's contiguous dimension (K, or M when transposed) % 4 == 0
override VEC_B: bool = false;   // b4 is B itself and B's contiguous dimension (N, or K when transposed) % 4 == 0

const BM: u32 = 128u;
const TK: u32 = 8u;

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
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

// A Linear layer's bias added as the output is stored (BIAS): bias[batch * bias_stride + col], where bias_stride is 0
// when one bias vector serves every batch entry, N when each entry has its own. Saves a broadcast add's pass over C.
fn with_bias(v: f32, batch: u32, col: u32) -> f32 {
  if (BIAS) { return v + bias[batch * params.bias_stride + col]; }
  return v;
}

var<workgroup> tile_a: array<array<f32, BM>, TK>; // [k][m]
var<workgroup> tile_b: array<array<f32, BM>, TK>; // [k][n]

// Four consecutive words of A starting at word i, the first `valid` of them inside the matrix.
fn quad_a(i: u32, valid: u32) -> vec4<f32> {
  if (VEC_A && valid >= 4u) { return a4[i / 4u]; }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (j < valid) { v[j] = a[i + j]; }
  }
  return v;
}

fn quad_b(i: u32, valid: u32) -> vec4<f32> {
  if (VEC_B && valid >= 4u) { return b4[i / 4u]; }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (j < valid) { v[j] = b[i + j]; }
  }
  return v;
}

// How many of the 4 indices start..start+3 are below end (0 when the quad's fixed coordinate is already outside).
fn span(start: u32, end: u32, inside: bool) -> u32 {
  if (!inside || start >= end) { return 0u; }
  return min(4u, end - start);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
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
  let m = params.m;
  let n = params.n;
  let k = params.k;
  let row0 = wid.y * BM;
  let col0 = wid.x * BM;

  var acc: array<f32, 64>;
  for (var i = 0u; i < 64u; i++) { acc[i] = 0.0; }

  for (var t = 0u; t < k; t += TK) {
    // 256 threads move 128x8 words of each operand as one quad each, along the operand's contiguous dimension.
    if (TRANS_A) {
      let kk = li / 32u;
      let mq = (li % 32u) * 4u;
      let v = quad_a(a_base + (t + kk) * m + row0 + mq, span(row0 + mq, m, t + kk < k));
      for (var j = 0u; j < 4u; j++) { tile_a[kk][mq + j] = v[j]; }
    } else {
      let r = li / 2u;
      let kq = (li % 2u) * 4u;
      let v = quad_a(a_base + (row0 + r) * k + t + kq, span(t + kq, k, row0 + r < m));
      for (var j = 0u; j < 4u; j++) { tile_a[kq + j][r] = v[j]; }
    }
    if (TRANS_B) {
      let cc = li / 2u;
      let kq = (li % 2u) * 4u;
      let v = quad_b(b_base + (col0 + cc) * k + t + kq, span(t + kq, k, col0 + cc < n));
      for (var j = 0u; j < 4u; j++) { tile_b[kq + j][cc] = v[j]; }
    } else {
      let kk = li / 32u;
      let nq = (li % 32u) * 4u;
      let v = quad_b(b_base + (t + kk) * n + col0 + nq, span(col0 + nq, n, t + kk < k));
      for (var j = 0u; j < 4u; j++) { tile_b[kk][nq + j] = v[j]; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var av: array<f32, 8>;
      var bv: array<f32, 8>;
      for (var i = 0u; i < 8u; i++) {
        av[i] = tile_a[kk][lid.y + 16u * i];
        bv[i] = tile_b[kk][lid.x + 16u * i];
      }
      for (var i = 0u; i < 8u; i++) {
        for (var j = 0u; j < 8u; j++) {
          acc[i * 8u + j] = fma(av[i], bv[j], acc[i * 8u + j]);
        }
      }
    }
    workgroupBarrier();
  }

  let c_base = (wid.z + params.batch_offset) * m * n;
  for (var i = 0u; i < 8u; i++) {
    let row = row0 + lid.y + 16u * i;
    if (row >= m) { break; }
    for (var j = 0u; j < 8u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (col < n) { c[c_base + row * n + col] = with_bias(acc[i * 8u + j], wid.z + params.batch_offset, col); }
    }
  }
}
