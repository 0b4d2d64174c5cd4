// argmax / argmin of contiguous rows, a workgroup per (row, chunk) with a tree preferring the smaller index on equal
// values; chunks > 1 writes (value, index) partials, read back by a further pass with IDX_IN.
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

// Whether (v, k) beats (best, best_k): strictly better, or equal with a smaller index. An empty slot has k = -1.
fn beats(v: f32, k: i32, best: f32, best_k: i32) -> bool {
  if (k < 0) { return false; }
  if (best_k < 0) { return true; }
  let strictly = select((v < best), (v > best), OP == 0u);
  return strictly || ((v == best) && (k < best_k));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= params.rows * params.chunks) { return; }
  let row = g / params.chunks;
  let start = (g - row * params.chunks) * params.chunk;
  let stop = min(params.r, start + params.chunk);
  let base = row * params.r;
  var best = 0.0;
  var best_k = -1;
  for (var k = start + lid; k < stop; k += WG) {
    let v = x[base + k];
    let kk = index_at(base + k, k);
    if (beats(v, kk, best, best_k)) {
      best = v;
      best_k = kk;
    }
  }
  pv[lid] = best;
  pi[lid] = best_k;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      if (beats(pv[lid + s], pi[lid + s], pv[lid], pi[lid])) {
        pv[lid] = pv[lid + s];
        pi[lid] = pi[lid + s];
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    y[g] = pi[0];
    yv[g] = pv[0];
  }
}
