// Fused softmax / log-softmax / logsumexp of contiguous rows, a workgroup per (row, chunk): online (max, sum of exp)
// pairs merged by a tree, the row normalized in the same kernel; MODE 3 / PAIRS_IN write / read pairs (multi-pass).
override WG: u32 = 256u;
override MODE: u32 = 0u; // 0 softmax, 1 log-softmax, 2 logsumexp, 3 (max, sum) pairs
// MODE 3 writes pairs (m to y, s to ys); PAIRS_IN reads pairs (m from x, s from xs).
override PAIRS_IN: bool = false;

struct Params { rows: u32, r: u32, chunk: u32, chunks: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> ys: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> pm: array<f32, WG>;
var<workgroup> ps: array<f32, WG>;

fn neg_inf() -> f32 {
  var bits = 0xff800000u;
  return bitcast<f32>(bits);
}

// exp(a - m) for a <= m, with exp(0) when a == m so that rows of infinities give no inf - inf.
fn scale(a: f32, m: f32) -> f32 {
  return select(exp(a - m), 1.0, (a == m));
}

fn merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * scale(a.x, m) + b.y * scale(b.x, m));
}

// Add one element to a running pair: one exp per element unless the maximum moves.
fn push(acc: vec2<f32>, v: f32) -> vec2<f32> {
  if (v > acc.x) {
    return vec2<f32>(v, acc.y * exp(acc.x - v) + 1.0);
  }
  return vec2<f32>(acc.x, acc.y + scale(v, acc.x));
}

fn load(p: u32, acc: vec2<f32>) -> vec2<f32> {
  if (PAIRS_IN) { return merge(acc, vec2<f32>(x[p], xs[p])); }
  return push(acc, x[p]);
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
  var a0 = vec2<f32>(neg_inf(), 0.0);
  var a1 = a0;
  var k = start + lid;
  for (; k + WG < stop; k += 2u * WG) {
    a0 = load(base + k, a0);
    a1 = load(base + k + WG, a1);
  }
  if (k < stop) {
    a0 = load(base + k, a0);
  }
  let acc = merge(a0, a1);
  pm[lid] = acc.x;
  ps[lid] = acc.y;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      let u = merge(vec2<f32>(pm[lid], ps[lid]), vec2<f32>(pm[lid + s], ps[lid + s]));
      pm[lid] = u.x;
      ps[lid] = u.y;
    }
    workgroupBarrier();
  }
  let m = pm[0];
  let total = ps[0];
  switch MODE {
    case 0u: {
      for (var i = start + lid; i < stop; i += WG) {
        y[base + i] = exp(x[base + i] - m) / total;
      }
    }
    case 1u: {
      let l = log(total);
      for (var i = start + lid; i < stop; i += WG) {
        y[base + i] = (x[base + i] - m) - l;
      }
    }
    case 2u: {
      if (lid == 0u) { y[g] = m + log(total); }
    }
    default: {
      if (lid == 0u) {
        y[g] = m;
        ys[g] = total;
      }
    }
  }
}
