// Node entry point: creates Dawn's GPU (npm `webgpu`), installs its globals (GPUBufferUsage and friends), and starts
// the engine on it. Everything in src/core is re-exported, so Node code imports from here.
import { create, globals } from 'webgpu';
import { initEngine, type Engine } from '../core/index.ts';
import { loadTuning } from './tuning.ts';

export * from '../core/index.ts';
export { loadTuning, readTuningFile, writeTuningFile } from './tuning.ts';

let dawn: GPU | null = null;

export interface NodeOptions {
  powerPreference?: GPUPowerPreference;
  dawnFlags?: string[];
  /** A tuning file (npm run bench -- tune) whose choices for this adapter the kernels use; a missing file is fine. */
  tuning?: string;
}

/** Start the engine on Dawn. The GPU object is held for the life of the process (if collected, Dawn aborts). */
export async function initNode(opts: NodeOptions = {}): Promise<Engine> {
  if (!dawn) {
    Object.assign(globalThis, globals);
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    dawn = create(opts.dawnFlags ?? []);
  }
  const e = await initEngine(dawn, opts.powerPreference);
  if (opts.tuning) loadTuning(e, opts.tuning);
  return e;
}
