// Multi-head self-attention read straight from a qkv projection, as timm's ViT lays it out: qkv [n, t, 3, h, dh]
// (the last axis of a Linear(d -> 3d) output), out [n, t, h, dh] (heads merged: [n, t, d]), and the probabilities
// p [n, h, t, t] kept for the backward pass. One thread per (sequence, head, query row): scores q.k * scale, a
// stable softmax, then p v. The zoo's ViT has t = 17 tokens and dh = 16: separate kernels for q k^T, softmax, p v and
// the permutes around them spent most of their lanes on padding and their time on launches and passes over memory.
// attention_vec4 (derived by scripts/gen-shaders.ts) reads and writes four elements of a head at a time when dh % 4
// == 0, with dh (and every qkv / out offset) counted in quads: a per-lane load is what costs on CPU backends.
alias Num = f32;
fn total(x: Num) -> f32 { return x; }

override WG: u32 = 64u;

struct Params { rows: u32, t: u32, heads: u32, dh: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> qkv: array<Num>;
@group(0) @binding(1) var<storage, read_write> out: array<Num>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG; // (sequence * heads + head) * t + query row
  if (r >= params.rows) { return; }
  let t = params.t;
  let dh = params.dh;
  let d = params.heads * dh;
  let i = r % t;
  let nh = r / t;
  let head = nh % params.heads;
  let seq = nh / params.heads;
  // Element (token j, part c: 0 q, 1 k, 2 v, this head, dim 0) of the sequence's qkv rows.
  let tok0 = seq * t * 3u * d + head * dh;
  let q0 = tok0 + i * 3u * d;
  let p0 = r * t;
  var mx = 0.0;
  for (var j = 0u; j < t; j++) {
    let k0 = tok0 + j * 3u * d + d;
    var s = 0.0;
    for (var e = 0u; e < dh; e++) { s += total(qkv[q0 + e] * qkv[k0 + e]); }
    s *= params.scale;
    p[p0 + j] = s;
    mx = select(max(mx, s), s, j == 0u);
  }
  var sum = 0.0;
  for (var j = 0u; j < t; j++) {
    let w = exp(p[p0 + j] - mx);
    p[p0 + j] = w;
    sum += w;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < t; j++) { p[p0 + j] *= inv; }
  let o0 = (seq * t + i) * d + head * dh;
  for (var e = 0u; e < dh; e++) {
    var acc = Num(0.0);
    for (var j = 0u; j < t; j++) { acc = fma(Num(p[p0 + j]), qkv[tok0 + j * 3u * d + 2u * d + e], acc); }
    out[o0 + e] = acc;
  }
}
