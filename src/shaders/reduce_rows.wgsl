// Sum/max/min of contiguous rows ([rows, r] view), a workgroup per (row, chunk) with a tree in workgroup memory;
// chunks > 1 writes partials [rows, chunks] for the multi-pass path, reduced again by this kernel.
override WG: u32 = 256u;
override OP: u32 = 0u; // 0 sum, 1 max, 2 min

struct Params { rows: u32, r: u32, chunk: u32, chunks: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, WG>;

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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  // Workgroup-uniform exit, so the barriers below stay in uniform control flow.
  if (g >= params.rows * params.chunks) { return; }
  let row = g / params.chunks;
  let start = (g - row * params.chunks) * params.chunk;
  let stop = min(params.r, start + params.chunk);
  let base = row * params.r;
  var a0 = identity();
  var a1 = a0;
  var a2 = a0;
  var a3 = a0;
  var k = start + lid;
  for (; k + 3u * WG < stop; k += 4u * WG) {
    a0 = combine(a0, x[base + k]);
    a1 = combine(a1, x[base + k + WG]);
    a2 = combine(a2, x[base + k + 2u * WG]);
    a3 = combine(a3, x[base + k + 3u * WG]);
  }
  for (; k < stop; k += WG) {
    a0 = combine(a0, x[base + k]);
  }
  partial[lid] = combine(combine(a0, a1), combine(a2, a3));
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[g] = partial[0];
  }
}
