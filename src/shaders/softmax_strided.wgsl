// Fused softmax / log-softmax / logsumexp over the middle axis of [outer, r, inner], a thread per output line chunk:
// an online (max, sum of exp) pair, then a walk writing outputs; MODE 3 / PAIRS_IN for the multi-pass path.
// The walk combines blocks of BLOCK elements first, so a long walk's f32 rounding error grows with
// BLOCK + length / BLOCK rather than with the length.
const BLOCK: u32 = 256u;
override WG: u32 = 256u;
override MODE: u32 = 0u; // 0 softmax, 1 log-softmax, 2 logsumexp, 3 (max, sum) pairs
// MODE 3 writes pairs (m to y, s to ys); PAIRS_IN reads pairs (m from x, s from xs).
override PAIRS_IN: bool = false;

struct Params { outer: u32, r: u32, inner: u32, chunk: u32, chunks: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> ys: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

fn neg_inf() -> f32 {
  var bits = 0xff800000u;
  return bitcast<f32>(bits);
}

fn scale(a: f32, m: f32) -> f32 {
  return select(exp(a - m), 1.0, (a == m));
}

fn merge(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * scale(a.x, m) + b.y * scale(b.x, m));
}

fn push(acc: vec2<f32>, v: f32) -> vec2<f32> {
  if (v > acc.x) {
    return vec2<f32>(v, acc.y * exp(acc.x - v) + 1.0);
  }
  return vec2<f32>(acc.x, acc.y + scale(v, acc.x));
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
  let p0 = (o * params.r + start) * params.inner + j;
  var acc = vec2<f32>(neg_inf(), 0.0);
  var p = p0;
  for (var b = start; b < stop; b += BLOCK) {
    let e = min(stop, b + BLOCK);
    var blk = vec2<f32>(neg_inf(), 0.0);
    for (var k = b; k < e; k++) {
      if (PAIRS_IN) {
        blk = merge(blk, vec2<f32>(x[p], xs[p]));
      } else {
        blk = push(blk, x[p]);
      }
      p += params.inner;
    }
    acc = merge(acc, blk);
  }
  let m = acc.x;
  let total = acc.y;
  switch MODE {
    case 0u: {
      p = p0;
      for (var k = start; k < stop; k++) {
        y[p] = exp(x[p] - m) / total;
        p += params.inner;
      }
    }
    case 1u: {
      let l = log(total);
      p = p0;
      for (var k = start; k < stop; k++) {
        y[p] = (x[p] - m) - l;
        p += params.inner;
      }
    }
    case 2u: {
      y[i] = m + log(total);
    }
    default: {
      y[i] = m;
      ys[i] = total;
    }
  }
}
