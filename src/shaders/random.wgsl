// Counter-based random numbers: Philox4x32-10 (Salmon et al., 2011) keyed by a 64-bit seed. Block i of the counter
// yields elements 4i..4i+3, so a tensor depends only on (seed, shape) and never on dispatch order.
// DIST 0: uniform in [low, high); DIST 1: normal(mean = low, std = high) by Box-Muller.
override WG: u32 = 256u;
override DIST: u32 = 0u;

struct Params { n: u32, key0: u32, key1: u32, low: f32, high: f32 }

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

// 32x32 -> 64-bit product as (hi, lo), from 16-bit halves since WGSL has no wide multiply.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let hh = a_hi * b_hi;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key_in;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// 24 random bits to a float in [0, 1).
fn unit(w: u32) -> f32 {
  return f32(w >> 8u) * 5.9604644775390625e-8;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let counter_lo = gid.x + gid.y * nwg.x * WG;
  let start = counter_lo * 4u;
  if (start >= params.n) { return; }
  let w = philox(vec4<u32>(counter_lo, 0u, 0u, 0u), vec2<u32>(params.key0, params.key1));
  var v: vec4<f32>;
  if (DIST == 0u) {
    let span = params.high - params.low;
    v = vec4<f32>(unit(w.x), unit(w.y), unit(w.z), unit(w.w)) * span + params.low;
  } else {
    // Box-Muller on two pairs; 1 - u keeps the log argument in (0, 1].
    let r0 = sqrt(-2.0 * log(1.0 - unit(w.x)));
    let r1 = sqrt(-2.0 * log(1.0 - unit(w.z)));
    let t0 = 6.283185307179586 * unit(w.y);
    let t1 = 6.283185307179586 * unit(w.w);
    v = vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1)) * params.high + params.low;
  }
  for (var j = 0u; j < 4u; j++) {
    if (start + j < params.n) {
      y[start + j] = v[j];
    }
  }
}
