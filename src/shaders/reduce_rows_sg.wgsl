// Sum/max/min of contiguous rows like reduce_rows, merged with subgroupAdd/Max/Min in rounds over per-subgroup
// results indexed by subgroup_id (no assumption about which invocations share a subgroup). Needs `subgroups`.
enable subgroups;

override WG: u32 = 256u;
override OP: u32 = 0u; // 0 sum, 1 max, 2 min

struct Params { rows: u32, r: u32, chunk: u32, chunks: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// One slot per subgroup; subgroups have at least 4 invocations, WG slots is a safe bound.
var<workgroup> partial: array<f32, WG>;

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

fn subgroup_combine(v: f32) -> f32 {
  switch OP {
    case 1u: { return subgroupMax(v); }
    case 2u: { return subgroupMin(v); }
    default: { return subgroupAdd(v); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32, @builtin(subgroup_id) sg_id: u32,
        @builtin(num_subgroups) n_sg: u32) {
  let g = wid.x + wid.y * nwg.x;
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
  let t = subgroup_combine(combine(combine(a0, a1), combine(a2, a3)));
  if (lane == 0u) {
    partial[sg_id] = t;
  }
  workgroupBarrier();
  // Each round, subgroup s reduces slots [s * sg_size, (s + 1) * sg_size) into slot s.
  var count = n_sg;
  loop {
    if (count <= 1u) { break; }
    let i = sg_id * sg_size + lane;
    var v = identity();
    if (i < count) {
      v = partial[i];
    }
    workgroupBarrier();
    let u = subgroup_combine(v);
    let next = (count + sg_size - 1u) / sg_size;
    if ((lane == 0u) && (sg_id < next)) {
      partial[sg_id] = u;
    }
    workgroupBarrier();
    count = next;
  }
  if (lid == 0u) {
    y[g] = partial[0];
  }
}
