// The host's share of a training step: each step recorded with the device's queue.submit made a no-op, so no kernel
// runs and what is timed is JavaScript, Dawn's recording and the uploads: the floor of a step's time on any GPU (a
// step cannot finish faster than it is recorded). Zoo steps of each classifier architecture of a preset (default:
// `default`, --models N per batch, default 32) and expert steps (ProbeX, Dense) on synthetic trees. With the kernels
// gone this is a CPU measurement on every adapter, and says nothing about the GPU's own speed.
import { Adam, backward, engine, gather, reshape, tensor, tidy, uniform, type Tensor } from '../src/core/index.ts';
import { getPreset, type ClassifierTreeSpec } from '../src/probex/zoo/presets.ts';
import { classifierArch } from '../src/probex/zoo/models/registry.ts';
import { classificationLoss } from '../src/probex/zoo/train.ts';
import { trainExpert } from '../src/probex/train.ts';
import { LayerData } from '../src/probex/data/dataset.ts';
import { median } from '../src/core/tune/timing.ts';
import { syntheticTree } from './scale.ts';
import { attachTuning, takePresetOptions, type BenchContext, type BenchRecord, type BenchSuite } from './common.ts';

let options = { preset: 'default', models: 32 };
const CLASSES = 50;
const IMAGES = 2048;
/** Expert cases: synthetic trees of `models` layers of size x size (the narrow MLPs' hidden layer, the scale benchmark). */
const EXPERTS = [
  { models: 700, size: 256 },
  { models: 1000, size: 768 },
];

interface Counts {
  dispatches: number;
  bindGroups: number;
  buffers: number;
}

const counts = (): Counts => ({ dispatches: engine().counters.dispatches, bindGroups: engine().counters.bindGroups, buffers: engine().memory.buffersCreated });

/** (to - from) / steps, count by count. */
const perStep = (from: Counts, to: Counts, steps: number): Counts => ({
  dispatches: (to.dispatches - from.dispatches) / steps,
  bindGroups: (to.bindGroups - from.bindGroups) / steps,
  buffers: (to.buffers - from.buffers) / steps,
});

/** Runs fn with submits dropped (nothing reaches the device), then restores them. Reads still resolve, with garbage. */
async function withoutDevice<T>(fn: () => Promise<T>): Promise<T> {
  const queue = engine().device.queue;
  const submit = queue.submit;
  queue.submit = () => undefined;
  try {
    return await fn();
  } finally {
    queue.submit = submit;
  }
}

export interface Measured {
  ms: number[];
  per: Counts;
}

/** ms per step of `steps` steps, `trials` times, after a warm-up; counts per step from the last trial. */
async function timeSteps(step: () => Promise<void>, steps: number, trials: number): Promise<Measured> {
  for (let i = 0; i < 3; i++) await step();
  const ms: number[] = [];
  let per: Counts = { dispatches: 0, bindGroups: 0, buffers: 0 };
  for (let t = 0; t < trials; t++) {
    const c0 = counts();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    ms.push((performance.now() - t0) / steps);
    per = perStep(c0, counts(), steps);
  }
  return { ms, per };
}

export async function zooStep(tree: ClassifierTreeSpec, models: number, trials: number): Promise<Measured> {
  const batch = tree.batch;
  const model = classifierArch(tree.arch).create(tree.arch, CLASSES, Array.from({ length: models }, (_, i) => i + 1));
  const images = uniform([IMAGES, 784], 1, 0, 1);
  const rows = tensor(Int32Array.from({ length: models * batch }, (_, i) => (i * 7919) % IMAGES), [models * batch], 'i32');
  const labels = tensor(Int32Array.from({ length: models * batch }, (_, i) => i % CLASSES), [models * batch], 'i32');
  const opt = new Adam([...model.params.values()], { lr: 1e-3, groups: models });
  try {
    // As trainModels records a step: flushed at its end, its loss left on the device.
    return await withoutDevice(() =>
      timeSteps(
        async () => {
          tidy(() => {
            const x = reshape(gather(images, rows), [models, batch, 784]);
            const loss = classificationLoss(model.forward(x), labels, x);
            opt.zeroGrad({ setToNone: true });
            backward(loss);
            opt.update();
          });
          engine().flush();
        },
        20,
        trials,
      ),
    );
  } finally {
    for (const t of [images, rows, labels] as Tensor[]) t.dispose();
    opt.dispose();
    model.dispose();
    await engine().sync();
  }
}

type ExpertMethod = 'probex' | 'dense';

/** Host ms per step of trainExpert for each method on one synthetic tree (generated once): the difference between runs
 * of `long` and `short` epochs, per step, so that setup and the first epoch's compilation drop out. The losses are read
 * every `short` epochs, so that both runs read them in the same pattern (a run's last read gathers all unread epochs). */
export async function expertSteps(methods: ExpertMethod[], models: number, size: number, trials: number, maxShardBytes?: number): Promise<Map<ExpertMethod, Measured>> {
  const tree = syntheticTree(models, size);
  let layer: LayerData;
  try {
    layer = LayerData.generate('synthetic.weight', models, size, size, tree.layers, { maxShardBytes });
  } finally {
    tree.dispose();
  }
  await engine().sync();
  const stepsPerEpoch = Math.ceil(models / 128);
  const [short, long] = [2, 12];
  const run = async (method: ExpertMethod, epochs: number): Promise<{ ms: number; c: Counts }> => {
    const c0 = counts();
    const t0 = performance.now();
    const r = await trainExpert({ method, head: 'classes', task: 'multi-label', tree: 'synthetic', train: { ...tree.split, layer }, val: null, config: { epochs, validateEvery: short } });
    const ms = performance.now() - t0;
    r.expert.dispose();
    return { ms, c: perStep(c0, counts(), 1) };
  };
  const steps = (long - short) * stepsPerEpoch;
  const out = new Map<ExpertMethod, Measured>();
  try {
    await withoutDevice(async () => {
      for (const method of methods) {
        const ms: number[] = [];
        let per: Counts = { dispatches: 0, bindGroups: 0, buffers: 0 };
        await run(method, long); // compiles every kernel and meets every buffer size and bind group of both runs
        for (let t = 0; t < trials; t++) {
          const a = await run(method, short);
          const b = await run(method, long);
          ms.push((b.ms - a.ms) / steps);
          per = perStep(a.c, b.c, steps);
        }
        out.set(method, { ms, per });
      }
    });
    return out;
  } finally {
    layer.dispose();
    await engine().sync();
  }
}

function record(ctx: BenchContext, variant: string, shape: string, m: Measured, trials: number): BenchRecord {
  const ms = median(m.ms);
  const note = `host only (no kernel ran): ${m.per.dispatches.toFixed(0)} dispatches, ${m.per.bindGroups.toFixed(1)} new bind groups, ${m.per.buffers.toFixed(1)} new buffers per step`;
  ctx.log(`${variant} ${shape}: ${ms.toFixed(2)} ms per step; ${note}`);
  return { op: 'host-step', variant, shape, ms, min_ms: Math.min(...m.ms), gflops: null, peer_ms: null, ratio: null, adapter: ctx.info.description, software: ctx.info.isSoftware, flops: 0, trials, reps: 1, check: 'skipped', note };
}

export const suite: BenchSuite = {
  name: 'host',
  about: "host time per training step with no kernel run (queue.submit dropped): zoo steps of a preset's architectures (--preset, --models N) and ProbeX / Dense expert steps",
  async run(ctx: BenchContext): Promise<BenchRecord[]> {
    attachTuning(ctx, 'matmul and reduction choices');
    const trials = ctx.args.trials ?? 3;
    const out: BenchRecord[] = [];
    const seen = new Set<string>();
    for (const t of getPreset(options.preset).trees) {
      if (t.kind !== 'classifier') continue;
      const name = classifierArch(t.arch).describe(t.arch, CLASSES);
      if (seen.has(name) || (ctx.args.shapes && !ctx.args.shapes.some((s) => name.includes(s)))) continue;
      seen.add(name);
      out.push(record(ctx, `zoo ${name}`, `M=${options.models} B=${t.batch}`, await zooStep(t, options.models, trials), trials));
    }
    for (const { models, size } of EXPERTS) {
      const shape = `${models} x ${size}x${size}`;
      const methods = (['probex', 'dense'] as const).filter((m) => !ctx.args.shapes || ctx.args.shapes.some((s) => shape.includes(s) || m.includes(s)));
      if (!methods.length) continue;
      for (const [method, m] of await expertSteps(methods, models, size, trials)) out.push(record(ctx, `expert ${method}`, shape, m, trials));
    }
    return out;
  },
};

/** Takes --preset NAME and --models N out of argv. */
export function takeOptions(argv: string[]): string[] {
  const o = takePresetOptions(argv, { preset: 'default', models: 32 });
  options = { preset: o.preset, models: o.models };
  return o.rest;
}
