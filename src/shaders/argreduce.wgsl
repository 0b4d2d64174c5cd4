// argmax / argmin over the middle axis of [outer, r, inner], a thread per (outer, chunk, inner), first index on ties;
// chunks > 1 writes (value, index) partials, which a further pass with IDX_IN reads back (values x, indices xi).
override WG: u32 = 256u;
override OP: u32 = 0u; // 0 argmax, 1 argmin
override IDX_IN: bool = false;

struct Params { outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> xi: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<i32>;
@group(0) @binding(3) var<storage, read_write> yv: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn index_at(p: u32, k: u32) -> i32 {
  if (IDX_IN) { return xi[p]; }
  return i32(k);
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
  var best = x[p];
  var best_k = index_at(p, start);
  for (var k = start + 1u; k < stop; k++) {
    p += params.inner;
    let v = x[p];
    // Indices grow along the walk (partials too), so a strict comparison keeps the first on ties.
    let better = select((v < best), (v > best), OP == 0u);
    if (better) {
      best = v;
      best_k = index_at(p, k);
    }
  }
  y[i] = best_k;
  yv[i] = best;
}
