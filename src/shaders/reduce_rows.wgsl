// Reduction of each contiguous row of a [rows, r] view: one workgroup per row, threads stride along the row, then a
// tree in workgroup memory. Used when the reduced axis is last.
override WG: u32 = 256u;
override OP: u32 = 0u; // 0 sum, 1 max, 2 min

struct Params { rows: u32, r: u32 }

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
  let row = wid.x + wid.y * nwg.x;
  // Workgroup-uniform exit, so the barriers below stay in uniform control flow.
  if (row >= params.rows) { return; }
  let base = row * params.r;
  var acc = identity();
  for (var k = lid; k < params.r; k += WG) {
    acc = combine(acc, x[base + k]);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[row] = partial[0];
  }
}
