// One-hot rows from integer labels: y[i, c] = (labels[i] == c). A label outside [0, classes) gives a NaN row, so a
// bad label poisons the loss visibly instead of training on a zero target.
override WG: u32 = 256u;

struct Params { n: u32, classes: u32 }

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// A NaN built at run time (a constant NaN is a WGSL compile error).
fn quiet_nan() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= params.n * params.classes) { return; }
  let label = labels[t / params.classes];
  let c = i32(t % params.classes);
  if (label < 0 || u32(label) >= params.classes) {
    y[t] = quiet_nan();
    return;
  }
  y[t] = select(0.0, 1.0, label == c);
}
