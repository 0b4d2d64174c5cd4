// Elementwise unary ops, plus the derivative helpers that backward rules need. OP is an override constant, so each
// op is its own specialized pipeline and the switch folds away at pipeline creation.
override WG: u32 = 256u;
override OP: u32 = 0u;

struct Params { n: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// tanh and sigmoid written to stay finite for large |v| on every backend.
// A NaN built at run time (a constant NaN is a WGSL compile error).
fn quiet_nan() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

fn stable_tanh(v: f32) -> f32 {
  let e = exp(-2.0 * abs(v));
  return sign(v) * (1.0 - e) / (1.0 + e);
}

fn stable_sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_K: f32 = 0.044715;

// GELU, tanh form: 0.5 v (1 + tanh(c (v + k v^3))).
fn gelu(v: f32) -> f32 {
  return 0.5 * v * (1.0 + stable_tanh(GELU_C * (v + GELU_K * v * v * v)));
}

fn gelu_grad(v: f32) -> f32 {
  let t = stable_tanh(GELU_C * (v + GELU_K * v * v * v));
  return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_K * v * v);
}

// v^p for a scalar p; negative bases are defined when p is an integer.
fn pow_scalar(v: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  let m = pow(abs(v), p);
  if (v >= 0.0) { return m; }
  if (fract(p) != 0.0) { return quiet_nan(); }
  return select(-m, m, fract(p * 0.5) == 0.0);
}

fn apply(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return abs(v); }
    case 2u: { return exp(v); }
    case 3u: { return log(v); }
    case 4u: { return sqrt(v); }
    case 5u: { return max(v, 0.0); }
    case 6u: { return stable_sigmoid(v); }
    case 7u: { return stable_tanh(v); }
    case 8u: { return gelu(v); }
    case 9u: { return pow_scalar(v, params.alpha); }
    case 10u: { return v * params.alpha + params.beta; }
    case 11u: { return select(0.0, 1.0, v > 0.0); }
    case 12u: { return sign(v); }
    case 13u: { return gelu_grad(v); }
    default: { return v; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  y[i] = apply(x[i]);
}
