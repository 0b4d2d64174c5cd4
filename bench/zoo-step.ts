// Where a zoo training step spends its time: one Adam step of a chunk of batched models per architecture of the
// `medium` preset (or --preset NAME; M models x B drawings, M = 32 or --models N), timed as a whole, then each of its dispatches replayed alone and summed by
// kernel. The per-kernel shares say what to optimize; the step time says how fast a zoo builds. With --tune, the
// matmul shape classes a step uses are autotuned first and saved to the tuning file, which zoo builds then use.
import { Adam, backward, gather, reshape, tensor, tidy, uniform, type RunArgs, type Tensor } from '../src/core/index.ts';
import { getPreset, type ClassifierTreeSpec } from '../src/probex/zoo/presets.ts';
import { classifierArch } from '../src/probex/zoo/models/registry.ts';
import { classificationLoss } from '../src/probex/zoo/train.ts';
import { autotuneMatmul, type MatmulTuneShape } from '../src/core/tune/autotune.ts';
import { median } from '../src/core/tune/timing.ts';
import { loadTuning, writeTuningFile } from '../src/node/tuning.ts';
import { DEFAULT_TUNING_FILE, attachTuning, takePresetOptions, type BenchContext, type BenchRecord, type BenchSuite } from './common.ts';

let tune = false;
/** --preset and --models: the architectures of which preset, and how many models a step batches. */
let options = { preset: 'medium', models: 32 };
const CLASSES = 50;
const IMAGES = 2048;

/** One distinct classifier architecture per entry of the chosen preset (medium: the quickdraw MLP, the wide MLP, the ViT). */
function architectures(): { name: string; tree: ClassifierTreeSpec }[] {
  const seen = new Set<string>();
  const out: { name: string; tree: ClassifierTreeSpec }[] = [];
  for (const t of getPreset(options.preset).trees) {
    if (t.kind !== 'classifier') continue;
    const name = classifierArch(t.arch).describe(t.arch, CLASSES);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, tree: t });
  }
  return out;
}

/** The matmul a recorded matmul dispatch computes, as the autotuner takes it (splitk's reduce pass is no matmul). */
function matmulShape(shader: string, args: RunArgs): MatmulTuneShape | null {
  if (!shader.startsWith('matmul') || shader.endsWith('_reduce') || !args.params) return null;
  const { m, n, k, batch_rank: rank, batch_shape: shape } = args.params as { m: number; n: number; k: number; batch_rank: number; batch_shape: number[] };
  const batch = shape.slice(0, rank).reduce((a, b) => a * b, 1);
  const transA = args.constants?.TRANS_A === true;
  const transB = args.constants?.TRANS_B === true;
  return { a: [batch, ...(transA ? [k, m] : [m, k])], b: [batch, ...(transB ? [n, k] : [k, n])], transA, transB };
}

/** Runs fn with every dispatch also shown to `seen`, then restores the engine's run. */
async function watchingRuns(e: BenchContext['engine'], seen: (shader: string, args: RunArgs) => void, fn: () => Promise<void>): Promise<void> {
  const run = e.run.bind(e);
  e.run = (shader, args) => {
    seen(shader, args);
    run(shader, args);
  };
  try {
    await fn();
  } finally {
    e.run = run;
  }
}

async function profileStep(ctx: BenchContext, tree: ClassifierTreeSpec, trials: number): Promise<{ ms: number[]; kernels: Map<string, { n: number; ms: number }>; dispatches: number }> {
  const e = ctx.engine;
  const models = options.models;
  const batch = tree.batch;
  const seeds = Array.from({ length: models }, (_, i) => i + 1);
  const model = classifierArch(tree.arch).create(tree.arch, CLASSES, seeds);
  const images = uniform([IMAGES, 784], 1, 0, 1);
  const rows = tensor(Int32Array.from({ length: models * batch }, (_, i) => (i * 7919) % IMAGES), [models * batch], 'i32');
  const labels = tensor(Int32Array.from({ length: models * batch }, (_, i) => i % CLASSES), [models * batch], 'i32');
  const opt = new Adam([...model.params.values()], { lr: 1e-3 });
  const step = async (): Promise<void> => {
    const l: Tensor = tidy(() => {
      const x = reshape(gather(images, rows), [models, batch, 784]);
      const loss = classificationLoss(model.forward(x), labels, x);
      opt.zeroGrad({ setToNone: true }); // as the zoo's training loop
      backward(loss);
      opt.update();
      return loss;
    });
    await l.item();
    l.dispose();
  };
  try {
    if (tune) {
      const shapes: MatmulTuneShape[] = [];
      await watchingRuns(e, (shader, args) => {
        const m = matmulShape(shader, args);
        if (m) shapes.push(m);
      }, step);
      const file = ctx.args.tuning ?? DEFAULT_TUNING_FILE;
      const table = loadTuning(e, file);
      const results = await autotuneMatmul(e, shapes, { table, trials: 3, log: (l) => ctx.log(`  ${l}`) });
      writeTuningFile(file, table);
      ctx.log(`  tuned ${results.filter((r) => !r.cached).length} matmul class(es) of this step (${results.filter((r) => r.cached).length} known) into ${file}`);
    }
    await step(); // compiles every kernel
    const ms: number[] = [];
    for (let i = 0; i < trials; i++) {
      const t0 = performance.now();
      await step();
      ms.push(performance.now() - t0);
    }
    // Record one step's dispatches, then replay each alone on the same buffers (the kernels' time does not depend on
    // the values). Buffers the step lets go of are held back from the pool until the replay is done, so that none is
    // destroyed or handed out in between.
    const recorded: { shader: string; args: RunArgs }[] = [];
    const release = e.pool.release.bind(e.pool);
    const held: GPUBuffer[] = [];
    e.pool.release = (b) => void held.push(b);
    const kernels = new Map<string, { n: number; ms: number }>();
    try {
      await watchingRuns(e, (shader, args) => recorded.push({ shader, args }), step);
      const REPS = 3;
      for (const r of recorded) {
        await e.sync();
        const t0 = performance.now();
        for (let k = 0; k < REPS; k++) e.run(r.shader, r.args);
        await e.sync();
        const key = r.args.constants ? `${r.shader} ${JSON.stringify(r.args.constants)}` : r.shader;
        const s = kernels.get(key) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += (performance.now() - t0) / REPS;
        kernels.set(key, s);
      }
    } finally {
      e.pool.release = release;
      for (const b of held) release(b);
    }
    return { ms, kernels, dispatches: recorded.length };
  } finally {
    opt.dispose();
    model.dispose();
    images.dispose();
    rows.dispose();
    labels.dispose();
    await e.sync();
    e.pool.trim();
  }
}

export const suite: BenchSuite = {
  name: 'zoo-step',
  about: 'one training step of 32 (--models N) batched models per architecture of the medium preset (--preset NAME), with its time per kernel',
  async run(ctx: BenchContext): Promise<BenchRecord[]> {
    const records: BenchRecord[] = [];
    const trials = ctx.args.trials ?? 3;
    if (!tune) attachTuning(ctx, 'matmul and reduction choices');
    for (const { name, tree } of architectures()) {
      if (ctx.args.shapes && !ctx.args.shapes.some((s) => name.includes(s))) continue;
      const p = await profileStep(ctx, tree, trials);
      const ms = median(p.ms);
      const total = [...p.kernels.values()].reduce((s, k) => s + k.ms, 0);
      const ranked = [...p.kernels].sort((a, b) => b[1].ms - a[1].ms);
      const top = ranked.slice(0, 6);
      ctx.log(`${name}: step ${ms.toFixed(1)} ms (median of ${trials}), ${p.dispatches} dispatches; replayed alone:`);
      for (const [k, s] of ranked.slice(0, 16)) ctx.log(`  ${((100 * s.ms) / total).toFixed(1).padStart(5)}%  ${String(s.n).padStart(3)}x  ${k}`);
      records.push({
        op: 'zoo-step',
        variant: name,
        shape: `M=${options.models} B=${tree.batch}`,
        ms,
        min_ms: Math.min(...p.ms),
        gflops: null,
        peer_ms: null,
        ratio: null,
        adapter: ctx.info.description,
        software: ctx.info.isSoftware,
        flops: 0,
        trials,
        reps: 1,
        check: 'skipped',
        note: `${p.dispatches} dispatches; ${top.map(([k, s]) => `${k.split(' ')[0]} ${((100 * s.ms) / total).toFixed(0)}%`).join(', ')}`,
      });
    }
    return records;
  },
};

/** Takes --tune, --preset NAME and --models N out of argv. A GPU session tunes the default zoo's own step with
 * `--tune --preset default --models 250`. */
export function takeOptions(argv: string[]): string[] {
  const o = takePresetOptions(argv, { preset: 'medium', models: 32 }, ['--tune']);
  tune = o.flags.has('--tune');
  options = { preset: o.preset, models: o.models };
  return o.rest;
}
