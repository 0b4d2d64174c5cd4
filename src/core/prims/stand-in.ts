// A 16-byte storage buffer per engine, bound where a kernel declares a binding that this launch never reads or
// writes: a vec4 view of a buffer smaller than one vec4, a writable output a pipeline constant switches off (WebGPU
// forbids binding one buffer twice for writing in a dispatch, so the real output cannot stand in for it).
import type { Engine } from '../engine.ts';

const standIns = new WeakMap<Engine, GPUBuffer>();

export function standIn(e: Engine): GPUBuffer {
  let b = standIns.get(e);
  if (!b) {
    b = e.device.createBuffer({ label: 'unused-binding-stand-in', size: 16, usage: GPUBufferUsage.STORAGE });
    standIns.set(e, b);
  }
  return b;
}
