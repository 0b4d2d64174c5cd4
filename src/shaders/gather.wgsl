// index_select along the middle axis of a [outer, n, inner] view: y[o, i, j] = x[o, idx[i], j]. An index outside
// [0, n) yields NaN (f32) so that the mistake shows instead of silently reading a neighbour. Moves raw 32-bit words.
// idx_offset and y_offset (0 for a plain gather) let several gathers fill one output from different sources, each
// reading its own range of one index buffer: a minibatch of layers drawn from several shards.
override WG: u32 = 256u;
override GRID3: bool = false;

struct Params { outer: u32, n: u32, inner: u32, m: u32, idx_offset: u32, y_offset: u32 }

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  var t: u32;
  var j: u32;
  var i: u32;
  var o: u32;
  if (GRID3) {
    // Workgroups [inner / WG, m, outer]: the coordinates without a division per element (on lavapipe the three
    // divisions cost more than the copy).
    j = gid.x;
    i = gid.y;
    o = gid.z;
    if (j >= params.inner) { return; }
    t = (o * params.m + i) * params.inner + j;
  } else {
    t = gid.x + gid.y * nwg.x * WG;
    if (t >= params.outer * params.m * params.inner) { return; }
    j = t % params.inner;
    i = (t / params.inner) % params.m;
    o = t / (params.inner * params.m);
  }
  let k = idx[params.idx_offset + i];
  if (k < 0 || u32(k) >= params.n) {
    y[params.y_offset + t] = 0x7fc00000u;
    return;
  }
  y[params.y_offset + t] = x[(o * params.n + u32(k)) * params.inner + j];
}
