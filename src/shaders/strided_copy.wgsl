// One strided copy serves permute, slice, expand (stride 0), concat and their backward passes: for every index of
// `shape`, out[out_offset + idx . out_strides] = x[in_offset + idx . in_strides]. Rank <= 8.
// It moves raw 32-bit words, so it serves f32 and i32 tensors alike; ADD (f32 only) adds into out instead (a slice's
// gradient into its region of an accumulated one). scripts/gen-shaders.ts derives strided_copy_vec4 from this text
// with Word = vec4<u32> and Num = vec4<f32>: the same walk four words at a time, where the innermost axis and every
// offset and stride allow it (a permute that keeps the last axis, e.g. attention heads of 16).
alias Word = u32;
alias Num = f32;
override WG: u32 = 256u;
// The rank of the (coalesced) walk as a pipeline constant: the loop over axes unrolls and reads its extents and strides
// at fixed positions (lavapipe ran a rank-5 permute 1.7x faster than with the rank as a uniform).
override RANK: u32 = 1u;
// The output is contiguous from out_offset in index order (a plain copy out): stores then go to consecutive words,
// which lavapipe vectorizes, where a computed address is one scalar store per lane.
override OUT_CONTIG: bool = false;
override ADD: bool = false;

struct Params {
  n: u32,
  in_offset: u32,
  out_offset: u32,
  shape: array<vec4<u32>, 2>,
  in_strides: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<Word>;
@group(0) @binding(1) var<storage, read_write> y: array<Word>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  var rem = i;
  var src = params.in_offset;
  var dst = params.out_offset;
  // One division per axis (a remainder costs a second one), none for axis 0, which takes what is left.
  for (var d = i32(RANK) - 1; d > 0; d--) {
    let k = u32(d);
    let extent = params.shape[k / 4u][k % 4u];
    let q = rem / extent;
    let c = rem - q * extent;
    rem = q;
    src += c * params.in_strides[k / 4u][k % 4u];
    if (!OUT_CONTIG) { dst += c * params.out_strides[k / 4u][k % 4u]; }
  }
  src += rem * params.in_strides[0].x;
  var at = dst + rem * params.out_strides[0].x;
  if (OUT_CONTIG) { at = params.out_offset + i; }
  if (ADD) {
    y[at] = bitcast<Word>(bitcast<Num>(y[at]) + bitcast<Num>(x[src]));
  } else {
    y[at] = x[src];
  }
}
