// One fused Adam / AdamW step per parameter. DECOUPLED = false: Adam, weight decay added to the gradient (L2);
// true: AdamW, weight decay applied to the weight directly. Bias corrections arrive precomputed for the step.
// Parameters stacked along a leading axis of groups (models trained together) scale lr per group: workgroup z walks
// the groups, x and y the block of elements of one (no per-element division: on lavapipe that division took 40% of
// the kernel's time); a scale of 0 leaves that group's weights untouched. adam_vec4 (derived by scripts/gen-shaders.ts)
// updates four elements per thread when a group's size is a multiple of 4; block then counts quads.
alias Num = f32;

override WG: u32 = 256u;
override DECOUPLED: bool = false;

struct Params {
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  correction1: f32, // 1 - beta1^t
  correction2: f32, // 1 - beta2^t
  block: u32,       // elements (quads in adam_vec4) per group (all of them when the parameter is one group)
}

@group(0) @binding(0) var<storage, read_write> param: array<Num>;
@group(0) @binding(1) var<storage, read> grad: array<Num>;
@group(0) @binding(2) var<storage, read_write> m1: array<Num>;
@group(0) @binding(3) var<storage, read_write> m2: array<Num>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> lr_scale: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= params.block) { return; }
  let i = gid.z * params.block + j;
  let lr = params.lr * lr_scale[gid.z];
  // A frozen group is left exactly as it is, moments included (0 * an infinite step would be NaN).
  if (lr == 0.0) { return; }
  var w = param[i];
  var g = grad[i];
  if (DECOUPLED) {
    w = w * (1.0 - lr * params.weight_decay);
  } else {
    g = g + params.weight_decay * w;
  }
  let m = params.beta1 * m1[i] + (1.0 - params.beta1) * g;
  let v = params.beta2 * m2[i] + (1.0 - params.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  let m_hat = m / params.correction1;
  let v_hat = v / params.correction2;
  param[i] = w - lr * m_hat / (sqrt(v_hat) + params.eps);
}
