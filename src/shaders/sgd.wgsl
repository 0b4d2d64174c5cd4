// One fused SGD step per parameter: weight decay (L2, added to the gradient), momentum, update.
override WG: u32 = 256u;

struct Params { n: u32, lr: f32, momentum: f32, weight_decay: f32 }

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> velocity: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) { return; }
  let g = grad[i] + params.weight_decay * param[i];
  let v = params.momentum * velocity[i] + g;
  velocity[i] = v;
  param[i] = param[i] - params.lr * v;
}
