// argmax / argmin of contiguous rows with subgroupMax/Min of values, then subgroupMin of the indices holding the best,
// in rounds over per-subgroup results; same interface as argreduce_rows. Needs `subgroups`.
enable subgroups;

override WG: u32 = 256u;
override OP: u32 = 0u; // 0 argmax, 1 argmin
override IDX_IN: bool = false;

struct Params { rows: u32, r: u32, chunk: u32, chunks: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> xi: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<storage, read_write> yv: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> pv: array<f32, WG>;
var<workgroup> pi: array<i32, WG>;

fn index_at(p: u32, k: u32) -> i32 {
  if (IDX_IN) { return xi[p]; }
  return i32(k);
}

fn worst() -> f32 {
  var neg_inf = 0xff800000u;
  var pos_inf = 0x7f800000u;
  return select(bitcast<f32>(pos_inf), bitcast<f32>(neg_inf), OP == 0u);
}

// The subgroup's best value and the smallest index holding it; empty entries carry k = -1 and the worst value.
fn subgroup_best(v: f32, k: i32) -> vec2<u32> {
  var m = 0.0;
  if (OP == 0u) { m = subgroupMax(v); } else { m = subgroupMin(v); }
  let cand = select(0xffffffffu, u32(k), (k >= 0) && (v == m));
  return vec2<u32>(bitcast<u32>(m), subgroupMin(cand));
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
  var best = worst();
  var best_k = -1;
  for (var k = start + lid; k < stop; k += WG) {
    let v = x[base + k];
    let better = select((v < best), (v > best), OP == 0u);
    if (better || (best_k < 0)) {
      best = v;
      best_k = index_at(base + k, k);
    }
  }
  let t = subgroup_best(best, best_k);
  if (lane == 0u) {
    pv[sg_id] = bitcast<f32>(t.x);
    pi[sg_id] = select(i32(t.y), -1, t.y == 0xffffffffu);
  }
  workgroupBarrier();
  var count = n_sg;
  loop {
    if (count <= 1u) { break; }
    let i = sg_id * sg_size + lane;
    var v = worst();
    var kk = -1;
    if (i < count) {
      v = pv[i];
      kk = pi[i];
    }
    workgroupBarrier();
    let u = subgroup_best(v, kk);
    let next = (count + sg_size - 1u) / sg_size;
    if ((lane == 0u) && (sg_id < next)) {
      pv[sg_id] = bitcast<f32>(u.x);
      pi[sg_id] = select(i32(u.y), -1, u.y == 0xffffffffu);
    }
    workgroupBarrier();
    count = next;
  }
  if (lid == 0u) {
    y[g] = pi[0];
    yv[g] = pv[0];
  }
}
