// Matmul variant "reg8x8": register blocking without workgroup memory. All threads of a workgroup share the same TM
// rows of op(A), so A reads are workgroup-uniform (one load serves every lane, a broadcast on GPUs and a scalar load on
// CPU SIMD backends such as lavapipe), and each thread owns TG interleaved groups of 4 columns of op(B), read as vec4
// when VEC_B allows. Each thread keeps TM x 4TG outputs in registers. Any M, N, K (no divisibility needed); WG
// (threads per workgroup) is chosen by the host so that a workgroup's WG * 4TG columns fit N.
override TRANS_A: bool = false; // A stored [K, M] instead of [M, K]
override TRANS_B: bool = false; // B stored [N, K] instead of [K, N]
override BIAS: bool = false;    // add bias (binding `bias`) to every row of C
override VEC_B: bool = false;   // b4 is B itself, not transposed, and N % 4 == 0
override WG: u32 = 64u;

const TM: u32 = 8u; // rows per workgroup (= per thread)
const TG: u32 = 2u; // vec4 column groups per thread: 8 columns

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
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> bias: array<f32>;

// A Linear layer's bias added as the output is stored (BIAS): bias[batch * bias_stride + col], where bias_stride is 0
// when one bias vector serves every batch entry, N when each entry has its own. Saves a broadcast add's pass over C.
fn with_bias(v: f32, batch: u32, col: u32) -> f32 {
  if (BIAS) { return v + bias[batch * params.bias_stride + col]; }
  return v;
}

// Loads clamp their indices into the matrix instead of branching: an edge tile computes throwaway values for its rows
// and columns past M and N, which are never stored, and every tile runs the same branch-free loop.
fn a_at(base: u32, row: u32, kk: u32) -> f32 {
  let r = min(row, params.m - 1u);
  if (TRANS_A) { return a[base + kk * params.m + r]; }
  return a[base + r * params.k + kk];
}

// op(B)[kk][col .. col + 3], columns clamped to N - 1 (with VEC_B, N % 4 == 0: a quad is wholly inside or outside).
fn b_quad(base: u32, kk: u32, col: u32) -> vec4<f32> {
  let last = params.n - 1u;
  if (TRANS_B) {
    let k = params.k;
    return vec4<f32>(b[base + min(col, last) * k + kk], b[base + min(col + 1u, last) * k + kk],
                     b[base + min(col + 2u, last) * k + kk], b[base + min(col + 3u, last) * k + kk]);
  }
  let i = base + kk * params.n;
  if (VEC_B) { return b4[(i + min(col, params.n - 4u)) / 4u]; }
  return vec4<f32>(b[i + min(col, last)], b[i + min(col + 1u, last)], b[i + min(col + 2u, last)], b[i + min(col + 3u, last)]);
}

@compute @workgroup_size(WG, 1, 1)
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
  let row0 = wid.x * TM;
  let col0 = wid.y * WG * 4u * TG;

  var acc: array<vec4<f32>, TM * TG>;
  for (var i = 0u; i < TM * TG; i++) { acc[i] = vec4<f32>(0.0); }
  for (var kk = 0u; kk < params.k; kk++) {
    var bv: array<vec4<f32>, TG>;
    for (var g = 0u; g < TG; g++) { bv[g] = b_quad(b_base, kk, col0 + (g * WG + lid.x) * 4u); }
    for (var i = 0u; i < TM; i++) {
      let av = vec4<f32>(a_at(a_base, row0 + i, kk));
      for (var g = 0u; g < TG; g++) { acc[i * TG + g] = fma(av, bv[g], acc[i * TG + g]); }
    }
  }

  let c_base = (wid.z + params.batch_offset) * params.m * params.n;
  for (var i = 0u; i < TM; i++) {
    let row = row0 + i;
    if (row >= params.m) { break; }
    for (var g = 0u; g < TG; g++) {
      let col = col0 + (g * WG + lid.x) * 4u;
      for (var q = 0u; q < 4u; q++) {
        if (col + q < params.n) { c[c_base + row * params.n + col + q] = with_bias(acc[i * TG + g][q], wid.z + params.batch_offset, col + q); }
      }
    }
  }
}
