// Sum/max/min over the middle axis of [outer, r, inner], a thread per (outer, chunk, inner) output walking the axis
// in blocks (coalesced across inner; inner = 1 is a thread per row); chunks > 1 writes partials for further passes.
// The walk combines blocks of BLOCK elements first, so a long walk's f32 rounding error grows with
// BLOCK + length / BLOCK rather than with the length.
const BLOCK: u32 = 256u;
override WG: u32 = 256u;
override OP: u32 = 0u; // 0 sum, 1 max, 2 min

struct Params { outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32 }

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
  let per_outer = params.chunks * params.inner;
  if (i >= params.outer * per_outer) { return; }
  let o = i / per_outer;
  let rem = i - o * per_outer;
  let c = rem / params.inner;
  let j = rem - c * params.inner;
  let start = c * params.chunk;
  let stop = min(params.r, start + params.chunk);
  var p = (o * params.r + start) * params.inner + j;
  var acc = identity();
  for (var b = start; b < stop; b += BLOCK) {
    let e = min(stop, b + BLOCK);
    var blk = identity();
    for (var k = b; k < e; k++) {
      blk = combine(blk, x[p]);
      p += params.inner;
    }
    acc = combine(acc, blk);
  }
  y[i] = acc;
}
