// Node entry point: creates Dawn's GPU (npm `webgpu`), installs its globals (GPUBufferUsage and friends), and starts
// the engine on it. Everything in src/core is re-exported, so Node code imports from here.
import { create, globals } from 'webgpu';
import { initEngine, type Engine } from '../core/index.ts';

export * from '../core/index.ts';
export { loadTuning, readTuningFile, writeTuningFile } from './tuning.ts';

let dawn: GPU | null = null;

/** Start the engine on Dawn. The GPU object is held for the life of the process (if collected, Dawn aborts). */
export async function initNode(opts: { powerPreference?: GPUPowerPreference; dawnFlags?: string[] } = {}): Promise<Engine> {
  if (!dawn) {
    Object.assign(globalThis, globals);
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    dawn = create(opts.dawnFlags ?? []);
  }
  return initEngine(dawn, opts.powerPreference);
}
