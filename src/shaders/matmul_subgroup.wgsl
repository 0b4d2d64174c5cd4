// Matmul variant "subgroup" (needs the `subgroups` feature; skipped where the device lacks it): reg8x8's layout (8
// workgroup-uniform rows of op(A), two vec4 column groups of op(B) per thread: 8x8 outputs), but op(A) is read
// cooperatively: for each block of subgroup_size K indices lane l loads A[row][kb + l] (one coalesced load per row
// instead of subgroup_size uniform loads) and subgroupShuffle hands each value to every lane. The host keeps WG a
// multiple of the largest subgroup size, so every subgroup is full and every lane of it shares the workgroup's rows.
enable subgroups;

override TRANS_A: bool = false; // A stored [K, M] instead of [M, K]
override TRANS_B: bool = false; // B stored [N, K] instead of [K, N]
override BIAS: bool = false;    // add bias (binding `bias`) to every row of C
override VEC_A: bool = false;   // a4 is A itself, TRANS_A and M % 4 == 0 (rows read as quads)
override VEC_B: bool = false;   // b4 is B itself, and its contiguous axis (N, or K when TRANS_B) is a multiple of 4
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
@group(0) @binding(6) var<storage, read> a4: array<vec4<f32>>;

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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(subgroup_size) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
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
  let k = params.k;
  let row0 = wid.x * TM;
  let col0 = wid.y * WG * 4u * TG;

  var acc: array<vec4<f32>, TM * TG>;
  for (var i = 0u; i < TM * TG; i++) { acc[i] = vec4<f32>(0.0); }
  for (var kb = 0u; kb < k; kb += sg) {
    // This lane's share of the block: op(A)[row0 + i][kb + lane] (clamped past K: those lanes are never read).
    var mine: array<f32, TM>;
    let kl = min(kb + lane, k - 1u);
    if (TRANS_A && VEC_A) {
      // A stored [K, M]: this lane's TM rows are TM / 4 quads of one storage row (a quad past M is clamped onto the
      // last one; rows past M are never stored).
      for (var h = 0u; h < TM / 4u; h++) {
        let v = a4[(a_base + kl * params.m + min(row0 + 4u * h, params.m - 4u)) / 4u];
        for (var q = 0u; q < 4u; q++) { mine[4u * h + q] = v[q]; }
      }
    } else {
      for (var i = 0u; i < TM; i++) { mine[i] = a_at(a_base, row0 + i, kl); }
    }
    let count = min(sg, k - kb);
    if (TRANS_B && VEC_B) {
      // B stored [N, K] with K % 4 == 0 (so count is a multiple of 4 too): each of this thread's 4TG columns is read
      // as one vec4 along K per 4 K indices, and the registers are transposed into op(B) quads by component picks.
      // Scalar loads down 4 columns cost 4x the load instructions (3x slower on lavapipe at 1024^2). One column group
      // at a time: fewer rows of B read at once (at K = 1024 they are 4 KiB apart and compete for the same cache
      // sets), about 10% faster on lavapipe for twice the shuffles.
      let last = params.n - 1u;
      for (var g = 0u; g < TG; g++) {
        let col = col0 + (g * WG + lid.x) * 4u;
        for (var j4 = 0u; j4 < count; j4 += 4u) {
          var bt: array<vec4<f32>, 4u>;
          for (var q = 0u; q < 4u; q++) { bt[q] = b4[(b_base + min(col + q, last) * k + kb + j4) / 4u]; }
          for (var jj = 0u; jj < 4u; jj++) {
            let bv = vec4<f32>(bt[0][jj], bt[1][jj], bt[2][jj], bt[3][jj]);
            for (var i = 0u; i < TM; i++) {
              acc[i * TG + g] = fma(vec4<f32>(subgroupShuffle(mine[i], j4 + jj)), bv, acc[i * TG + g]);
            }
          }
        }
      }
      continue;
    }
    for (var j = 0u; j < count; j++) {
      var bv: array<vec4<f32>, TG>;
      for (var g = 0u; g < TG; g++) { bv[g] = b_quad(b_base, kb + j, col0 + (g * WG + lid.x) * 4u); }
      for (var i = 0u; i < TM; i++) {
        let av = vec4<f32>(subgroupShuffle(mine[i], j));
        for (var g = 0u; g < TG; g++) { acc[i * TG + g] = fma(av, bv[g], acc[i * TG + g]); }
      }
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
