// Building a zoo: pretrain each tree's base, then fine-tune its models in batches of `chunk`, grouped by their
// sampled (epochs, learning rate). Every finished model is written atomically and recorded in zoo.json, and a rerun
// skips what exists, so an interrupted build resumes without redoing or corrupting finished models.
import { existsSync } from 'node:fs';
import { encodeSafetensors } from '../../core/index.ts';
import { writeFileAtomic } from '../../node/files.ts';
import { listQuickdrawClasses } from '../../datasets/quickdraw.ts';
import { mixSeed, permutation, seededRandom } from '../../datasets/split.ts';
import { classifierPool, splitClasses, type ClassSplit } from './classes.ts';
import { loadDrawingSet, loadPretrainSet, type DrawingSet } from './data.ts';
import { basePath, modelId, modelPath, type Split } from './layout.ts';
import { DATA_SOURCES, readManifest, writeManifest, type Manifest, type ModelRecord } from './manifest.ts';
import { classifierArch } from './models/registry.ts';
import { unstack, type StateDict } from './models/batched.ts';
import { evaluateClassifiers, trainClassifiers } from './train.ts';
import { getPreset, type ClassifierTreeSpec, type Preset } from './presets.ts';
import { readSafetensorsFile } from '../../node/safetensors-file.ts';

export interface ModelPlan {
  index: number;
  id: string;
  split: Split;
  seed: number;
  /** Indices into the tree's pool, in the model's label order. */
  classes: number[];
  lr: number;
  epochs: number;
}

/** The deterministic plan of a classifier tree: per-model seed, class half, hyperparameters and split (70/10/20). */
export function planClassifierTree(spec: ClassifierTreeSpec, treeSeed: number): ModelPlan[] {
  const order = permutation(spec.models, seededRandom(mixSeed(treeSeed, 0x5eed)));
  const splitOf = new Array<Split>(spec.models);
  order.forEach((m, rank) => (splitOf[m] = rank < Math.round(0.7 * spec.models) ? 'train' : rank < Math.round(0.8 * spec.models) ? 'val' : 'test'));
  return Array.from({ length: spec.models }, (_, i) => {
    const seed = mixSeed(treeSeed, i + 1);
    const rand = seededRandom(seed);
    const classes = permutation(spec.pool, rand).slice(0, spec.pool / 2);
    return {
      index: i,
      id: modelId(i),
      split: splitOf[i],
      seed,
      classes,
      lr: spec.lr[Math.floor(rand() * spec.lr.length)],
      epochs: spec.epochs[Math.floor(rand() * spec.epochs.length)],
    };
  });
}

export interface BuildOptions {
  preset: string;
  out: string;
  /** Only these trees (default: all of the preset). */
  trees?: string[];
  /** Stop after this many fine-tunes in this run (for time-boxed runs on a CPU); the build resumes later. */
  maxModels?: number;
  log?: (line: string) => void;
}

export interface BuildReport {
  trees: { name: string; trained: number; skipped: number; seconds: number; modelsPerSecond: number }[];
  complete: boolean;
}

function toSafetensors(state: StateDict, metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors([...state].map(([name, v]) => [name, { dtype: 'F32' as const, shape: v.shape, data: v.data }]), metadata);
}

async function loadBase(path: string): Promise<StateDict> {
  const file = readSafetensorsFile(path);
  const state: StateDict = new Map();
  for (const name of file.names()) state.set(name, { shape: file.info(name).shape, data: file.readF32(name) });
  file.close();
  return state;
}

async function buildBase(zoo: string, spec: ClassifierTreeSpec, split: ClassSplit, log: (s: string) => void): Promise<{ state: StateDict; accuracy: number; classes: number }> {
  const path = basePath(zoo, spec.name);
  if (existsSync(path)) {
    const file = readSafetensorsFile(path);
    const meta = file.metadata;
    file.close();
    return { state: await loadBase(path), accuracy: Number(meta.accuracy), classes: Number(meta.num_classes) };
  }
  const p = spec.pretrain;
  const data = await loadPretrainSet(p.source, split.pretrain, p.perClass);
  try {
    const model = classifierArch(spec.arch).create(spec.arch, data.classes.length, [p.seed]);
    const t0 = performance.now();
    await trainClassifiers(model, data.images, { items: [data.trainItems], labels: [data.trainLabels], seeds: [p.seed] }, {
      epochs: p.epochs,
      lr: p.lr,
      batch: p.batch,
      onEpoch: (e, l) => log(`  base ${spec.name}: epoch ${e + 1}/${p.epochs} loss ${l.toFixed(4)}`),
    });
    const [accuracy] = await evaluateClassifiers(model, data.images, { items: [data.testItems], labels: [data.testLabels] });
    const [state] = await unstack(model);
    model.dispose();
    const meta = {
      tree: spec.name,
      role: 'base',
      architecture: JSON.stringify(spec.arch),
      pretrain_source: p.source,
      pretrain_classes: JSON.stringify(data.classes),
      num_classes: String(data.classes.length),
      seed: String(p.seed),
      epochs: String(p.epochs),
      learning_rate: String(p.lr),
      accuracy: String(accuracy),
    };
    writeFileAtomic(path, toSafetensors(state, meta));
    log(`  base ${spec.name}: pretrained on ${p.source} (${data.classes.length} classes), held-out accuracy ${(100 * accuracy).toFixed(1)}% in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { state, accuracy, classes: data.classes.length };
  } finally {
    data.dispose();
  }
}

async function buildClassifierTree(
  zoo: string,
  spec: ClassifierTreeSpec,
  treeIndex: number,
  preset: Preset,
  manifest: Manifest,
  drawings: DrawingSet,
  budget: { left: number },
  log: (s: string) => void,
): Promise<BuildReport['trees'][number]> {
  const split = manifest.classSplit;
  const record = manifest.trees[spec.name];
  const base = await buildBase(zoo, spec, split, log);
  record.base = { path: basePath(zoo, spec.name).slice(zoo.length + 1), accuracy: base.accuracy, classes: base.classes };
  writeManifest(zoo, manifest);

  const poolRows = record.pool.map((name) => drawings.classes.indexOf(name));
  const plans = planClassifierTree(spec, mixSeed(0x200, treeIndex + 1));
  const done = new Set(record.models.map((m) => m.id));
  const todo = plans.filter((p) => !done.has(p.id) && !existsSync(modelPath(zoo, spec.name, p.split, p.id)));
  // Models on disk but not in the manifest (a run stopped between the two writes) are recorded from their metadata.
  for (const p of plans) {
    if (done.has(p.id) || todo.includes(p)) continue;
    const f = readSafetensorsFile(modelPath(zoo, spec.name, p.split, p.id));
    record.models.push(JSON.parse(f.metadata.record) as ModelRecord);
    f.close();
  }
  const groups = new Map<string, ModelPlan[]>();
  for (const p of todo) {
    const key = `${p.epochs}|${p.lr}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(p);
  }
  const t0 = performance.now();
  let trained = 0;
  const arch = classifierArch(spec.arch);
  for (const group of groups.values()) {
    for (let at = 0; at < group.length && budget.left > 0; at += preset.chunk) {
      const chunk = group.slice(at, at + Math.min(preset.chunk, budget.left));
      const items = (rows: (c: number) => Int32Array, p: ModelPlan): Int32Array => {
        const parts = p.classes.map((c) => rows(poolRows[c]));
        const out = new Int32Array(parts.reduce((n, x) => n + x.length, 0));
        let o = 0;
        for (const x of parts) out.set(x, (o += x.length) - x.length);
        return out;
      };
      const labelsFor = (p: ModelPlan, per: number): Int32Array => Int32Array.from({ length: p.classes.length * per }, (_, i) => Math.floor(i / per));
      const train = { items: chunk.map((p) => items(drawings.train, p)), labels: chunk.map((p) => labelsFor(p, 80)), seeds: chunk.map((p) => p.seed) };
      const test = { items: chunk.map((p) => items(drawings.test, p)), labels: chunk.map((p) => labelsFor(p, 20)) };
      const model = arch.fromBase(spec.arch, base.state, spec.pool / 2, chunk.map((p) => p.seed));
      const c0 = performance.now();
      const loss = await trainClassifiers(model, drawings.images, train, { epochs: chunk[0].epochs, lr: chunk[0].lr, batch: spec.batch, weightDecay: spec.weightDecay });
      const acc = await evaluateClassifiers(model, drawings.images, test);
      const states = await unstack(model);
      model.dispose();
      chunk.forEach((p, k) => {
        const rec: ModelRecord = {
          id: p.id,
          split: p.split,
          classes: p.classes.map((c) => record.pool[c]),
          seed: p.seed,
          lr: p.lr,
          epochs: p.epochs,
          accuracy: acc[k],
          trainLoss: loss,
        };
        const meta = {
          tree: spec.name,
          base: record.base!.path,
          architecture: JSON.stringify(spec.arch),
          classes: JSON.stringify(rec.classes),
          seed: String(p.seed),
          learning_rate: String(p.lr),
          epochs: String(p.epochs),
          batch_size: String(spec.batch),
          weight_decay: String(spec.weightDecay),
          accuracy: String(acc[k]),
          split: p.split,
          record: JSON.stringify(rec),
        };
        writeFileAtomic(modelPath(zoo, spec.name, p.split, p.id), toSafetensors(states[k], meta));
        record.models.push(rec);
      });
      trained += chunk.length;
      budget.left -= chunk.length;
      record.trainSeconds += (performance.now() - c0) / 1000;
      writeManifest(zoo, manifest);
      const meanAcc = acc.reduce((a, b) => a + b, 0) / acc.length;
      log(`  ${spec.name}: ${record.models.length}/${spec.models} models (batch of ${chunk.length}, ${chunk[0].epochs} epochs, lr ${chunk[0].lr}: mean held-out accuracy ${(100 * meanAcc).toFixed(1)}%, ${((performance.now() - c0) / 1000).toFixed(1)} s)`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { name: spec.name, trained, skipped: plans.length - todo.length, seconds, modelsPerSecond: trained / Math.max(seconds, 1e-9) };
}

export async function buildZoo(opts: BuildOptions): Promise<BuildReport> {
  const log = opts.log ?? (() => {});
  const preset = getPreset(opts.preset);
  const trees = opts.trees ? preset.trees.filter((t) => opts.trees!.includes(t.name)) : preset.trees;
  if (opts.trees) {
    const unknown = opts.trees.filter((n) => !preset.trees.some((t) => t.name === n));
    if (unknown.length) throw new Error(`zoo: preset ${preset.name} has no tree ${unknown.join(', ')} (has ${preset.trees.map((t) => t.name).join(', ')})`);
  }
  const split = splitClasses(await listQuickdrawClasses());
  let manifest = readManifest(opts.out);
  if (manifest && manifest.preset !== preset.name) {
    throw new Error(`zoo: ${opts.out} holds a "${manifest.preset}" zoo; build "${preset.name}" in another folder`);
  }
  if (!manifest) {
    const now = new Date().toISOString();
    manifest = { format: 'probex-zoo/1', preset: preset.name, created: now, updated: now, status: 'building', sources: DATA_SOURCES, classSplit: split, trees: {} };
  }
  for (const spec of preset.trees) {
    if (manifest.trees[spec.name]) continue;
    const plans = planClassifierTree(spec, mixSeed(0x200, preset.trees.indexOf(spec) + 1));
    const planned: Record<string, number> = {};
    for (const p of plans) planned[p.split] = (planned[p.split] ?? 0) + 1;
    manifest.trees[spec.name] = { spec, pool: classifierPool(split, spec.pool), base: null, planned, models: [], trainSeconds: 0 };
  }
  writeManifest(opts.out, manifest);

  // Every classifier pool is a prefix-closed draw from the seen classes, so the largest pool covers them all.
  const needed = [...new Set(trees.flatMap((t) => manifest!.trees[t.name].pool))].sort();
  const drawings = await loadDrawingSet(needed);
  const budget = { left: opts.maxModels ?? Infinity };
  const report: BuildReport = { trees: [], complete: false };
  try {
    for (const spec of trees) {
      log(`tree ${spec.name}`);
      report.trees.push(await buildClassifierTree(opts.out, spec, preset.trees.indexOf(spec), preset, manifest, drawings, budget, log));
    }
  } finally {
    drawings.dispose();
  }
  report.complete = preset.trees.every((t) => manifest!.trees[t.name].models.length === t.models);
  manifest.status = report.complete ? 'complete' : 'building';
  writeManifest(opts.out, manifest);
  return report;
}
