// Backward of attention.wgsl into dqkv [n, t, 3, h, dh], in two passes over the same layout (KV selects):
// - query rows (KV = false): dp_ij = g_i . v_j, ds_ij = p_ij (dp_ij - sum_j p_ij dp_ij) * scale (the gradient of the
//   raw score q_i . k_j), written to ds [n, h, t, t]; dq_i = sum_j ds_ij k_j.
// - key rows (KV = true, after the first pass): dk_j = sum_i ds_ij q_i, dv_j = sum_i p_ij g_i.
// Every element of dqkv is written by exactly one thread, so it needs no zeroing.
// attention_backward_vec4 (derived by scripts/gen-shaders.ts): four elements of a head at a time, as attention_vec4.
alias Num = f32;
fn total(x: Num) -> f32 { return x; }

override WG: u32 = 64u;
override KV: bool = false;

struct Params { rows: u32, t: u32, heads: u32, dh: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> qkv: array<Num>;
@group(0) @binding(1) var<storage, read> g: array<Num>;
@group(0) @binding(2) var<storage, read> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> ds: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<Num>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG; // (sequence * heads + head) * t + row (a query row, or a key row with KV)
  if (r >= params.rows) { return; }
  let t = params.t;
  let dh = params.dh;
  let d = params.heads * dh;
  let row = r % t;
  let nh = r / t;
  let head = nh % params.heads;
  let seq = nh / params.heads;
  let tok0 = seq * t * 3u * d + head * dh; // q of token 0 of this head; + j * 3d for token j, + d for k, + 2d for v
  let g0 = seq * t * d + head * dh;        // g of token 0 of this head; + j * d for token j
  let pm = nh * t * t;                     // this head's t x t probabilities
  if (!KV) {
    let gi = g0 + row * d;
    let p0 = pm + row * t;
    var dot = 0.0;
    for (var j = 0u; j < t; j++) {
      let v0 = tok0 + j * 3u * d + 2u * d;
      var dp = 0.0;
      for (var e = 0u; e < dh; e++) { dp += total(g[gi + e] * qkv[v0 + e]); }
      ds[p0 + j] = dp;
      dot = fma(p[p0 + j], dp, dot);
    }
    for (var j = 0u; j < t; j++) { ds[p0 + j] = p[p0 + j] * (ds[p0 + j] - dot) * params.scale; }
    let dq0 = tok0 + row * 3u * d;
    for (var e = 0u; e < dh; e++) {
      var acc = Num(0.0);
      for (var j = 0u; j < t; j++) { acc = fma(Num(ds[p0 + j]), qkv[tok0 + j * 3u * d + d + e], acc); }
      dqkv[dq0 + e] = acc;
    }
  } else {
    let k0 = tok0 + row * 3u * d + d;
    for (var e = 0u; e < dh; e++) {
      var dk = Num(0.0);
      var dv = Num(0.0);
      for (var i = 0u; i < t; i++) {
        let pi = pm + i * t + row;
        dk = fma(Num(ds[pi]), qkv[tok0 + i * 3u * d + e], dk);
        dv = fma(Num(p[pi]), g[g0 + i * d + e], dv);
      }
      dqkv[k0 + e] = dk;
      dqkv[k0 + d + e] = dv;
    }
  }
}
