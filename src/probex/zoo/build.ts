// Building a zoo: pretrain each tree's base, then fine-tune its models in batches of `chunk` (each model with its own
// sampled epochs and learning rate). Every finished model is written atomically and recorded in zoo.json, and a rerun
// skips what exists, so an interrupted build resumes without redoing or corrupting finished models.
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, engine } from '../../core/index.ts';
import { removeStaleTemps, withLock, writeFileAtomic } from '../../node/files.ts';
import { readSafetensorsFile } from '../../node/safetensors-file.ts';
import { listQuickdrawClasses } from '../../datasets/quickdraw.ts';
import { mixSeed, permutation, seededRandom } from '../../datasets/split.ts';
import { classifierPool, splitClasses, type ClassSplit } from './classes.ts';
import { loadDrawingSet, loadPretrainSet, type DrawingSet } from './data.ts';
import { basePath, modelId, modelPath, type Split } from './layout.ts';
import { DATA_SOURCES, readManifest, writeManifest, type Manifest, type ModelRecord, type TreeRecord } from './manifest.ts';
import { classifierArch } from './models/registry.ts';
import { BatchedAutoencoder, BatchedLora } from './models/autoencoder.ts';
import { unstack, type BatchedModel, type StateDict } from './models/batched.ts';
import { evaluateClassifiers, evaluateReconstruction, reconstructionLoss, trainClassifiers, trainModels } from './train.ts';
import { loadUseLite, USE_LITE_NAME } from '../text/use-lite.ts';
import { textEmbeddingsPath, writeClassEmbeddings } from '../text/class-embeddings.ts';
import { getPreset, type ClassifierTreeSpec, type LoraTreeSpec, type Preset, type TreeSpec } from './presets.ts';

export interface ModelPlan {
  index: number;
  id: string;
  split: Split;
  seed: number;
  /** The model's classes, in its label order (one class for a LoRA). */
  classes: string[];
  lr: number;
  epochs: number;
}

const treeSeed = (preset: Preset, spec: TreeSpec): number => mixSeed(0x200, preset.trees.indexOf(spec) + 1);

/** Splits by a seeded permutation of model indices: the first 70% train, the next 10% val, the rest test. */
function assignSplits(count: number, seed: number, names: [Split, Split, Split] = ['train', 'val', 'test'], cuts = [0.7, 0.8]): Split[] {
  const out = new Array<Split>(count);
  permutation(count, seededRandom(seed)).forEach((m, rank) => {
    out[m] = rank < Math.round(cuts[0] * count) ? names[0] : rank < Math.round(cuts[1] * count) ? names[1] : names[2];
  });
  return out;
}

/** Seen-class LoRAs: each class's first LoRA trains (so every seen class is in the label space an expert learns),
 * and the others are dealt so that the tree as a whole is split 70 / 10 / 20. */
function seenLoraSplits(spec: LoraTreeSpec, seed: number): Split[] {
  const count = spec.seenClasses * spec.perClass;
  const out = new Array<Split>(count);
  const rest: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i % spec.perClass === 0) out[i] = 'train';
    else rest.push(i);
  }
  const train = Math.max(0, Math.round(0.7 * count) - spec.seenClasses);
  const val = Math.min(rest.length - train, Math.round(0.1 * count));
  permutation(rest.length, seededRandom(seed)).forEach((k, rank) => {
    out[rest[k]] = rank < train ? 'train' : rank < train + val ? 'val' : 'test';
  });
  return out;
}

function pick<T>(choices: readonly T[], rand: () => number): T {
  return choices[Math.floor(rand() * choices.length)];
}

/** The deterministic plan of a tree: per-model seed, classes, hyperparameters and split. */
export function planTree(spec: TreeSpec, pool: readonly string[], seed: number): ModelPlan[] {
  if (spec.kind === 'classifier') {
    const splits = assignSplits(spec.models, mixSeed(seed, 0x5eed));
    return Array.from({ length: spec.models }, (_, i) => {
      const s = mixSeed(seed, i + 1);
      const rand = seededRandom(s);
      const classes = permutation(pool.length, rand).slice(0, pool.length / 2).map((c) => pool[c]);
      return { index: i, id: modelId(i), split: splits[i], seed: s, classes, lr: pick(spec.lr, rand), epochs: pick(spec.epochs, rand) };
    });
  }
  // LoRA tree: pool = seen classes then held-out classes; perClass LoRAs each.
  const seenModels = spec.seenClasses * spec.perClass;
  const heldModels = spec.heldoutClasses * spec.perClass;
  const seenSplits = seenLoraSplits(spec, mixSeed(seed, 0x5eed));
  const heldSplits = assignSplits(heldModels, mixSeed(seed, 0x4e1d), ['val_holdout', 'test_holdout', 'test_holdout'], [1 / 3, 1]);
  return Array.from({ length: seenModels + heldModels }, (_, i) => {
    const s = mixSeed(seed, i + 1);
    const rand = seededRandom(s);
    const split = i < seenModels ? seenSplits[i] : heldSplits[i - seenModels];
    return { index: i, id: modelId(i), split, seed: s, classes: [pool[Math.floor(i / spec.perClass)]], lr: pick(spec.lr, rand), epochs: pick(spec.epochs, rand) };
  });
}

function treePool(spec: TreeSpec, split: ClassSplit): string[] {
  if (spec.kind === 'classifier') return classifierPool(split, spec.pool);
  return [...split.seen.slice(0, spec.seenClasses), ...split.heldout.slice(0, spec.heldoutClasses)];
}

export interface BuildOptions {
  preset: string;
  out: string;
  /** Only these trees (default: all of the preset). */
  trees?: string[];
  /** Stop after this many fine-tunes in this run (for time-boxed runs on a CPU); the build resumes later. */
  maxModels?: number;
  /** Models trained together in one batch (default: the preset's). Each model keeps its own data order and optimizer
   * state, so this changes speed and memory, not what a model learns; a GPU takes a few hundred. */
  chunk?: number;
  log?: (line: string) => void;
}

export interface BuildReport {
  trees: { name: string; trained: number; skipped: number; seconds: number; modelsPerSecond: number }[];
  complete: boolean;
}

function toSafetensors(state: StateDict, metadata: Record<string, string>): Uint8Array {
  return encodeSafetensors([...state].map(([name, v]) => [name, { dtype: 'F32' as const, shape: v.shape, data: v.data }]), metadata);
}

function loadState(path: string): { state: StateDict; metadata: Record<string, string> } {
  const file = readSafetensorsFile(path);
  try {
    const state: StateDict = new Map();
    for (const name of file.names()) state.set(name, { shape: file.info(name).shape, data: file.readF32(name) });
    return { state, metadata: file.metadata };
  } finally {
    file.close();
  }
}

/** JSON with object keys sorted, so that two recipes compare equal whatever order their fields were written in. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

/** Width of the blur a tree's drawings pass through (LoRA trees; 0 for the rest). */
const smoothingOf = (t: TreeSpec): number => (t.kind === 'lora' ? t.smoothing : 0);

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const range = (xs: number[]): string => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}-${Math.max(...xs)}`);

/** Pretrain (or load) a tree's base: a classifier over the pretraining classes, or an autoencoder. */
async function buildBase(zoo: string, spec: TreeSpec, split: ClassSplit, log: (s: string) => void): Promise<{ state: StateDict; record: NonNullable<TreeRecord['base']> }> {
  const path = basePath(zoo, spec.name);
  const rel = path.slice(zoo.length + 1);
  if (existsSync(path)) {
    const { state, metadata } = loadState(path);
    const record = { path: rel, classes: Number(metadata.num_classes), accuracy: metadata.accuracy ? Number(metadata.accuracy) : undefined, loss: metadata.loss ? Number(metadata.loss) : undefined };
    return { state, record };
  }
  const p = spec.pretrain;
  const smoothing = smoothingOf(spec);
  const data = await loadPretrainSet(p.source, split.pretrain, p.perClass, smoothing);
  try {
    const t0 = performance.now();
    const job = { items: [data.trainItems], labels: [data.trainLabels], seeds: [p.seed] };
    const opts = { epochs: p.epochs, lr: p.lr, batch: p.batch, onEpoch: (e: number, l: number) => log(`  base ${spec.name}: epoch ${e + 1}/${p.epochs} loss ${l.toFixed(4)}`) };
    let model: BatchedModel;
    const metric: Record<string, string> = {};
    if (spec.kind === 'classifier') {
      model = classifierArch(spec.arch).create(spec.arch, data.classes.length, [p.seed]);
      await trainClassifiers(model, data.images, job, opts);
      [metric.accuracy] = (await evaluateClassifiers(model, data.images, { items: [data.testItems], labels: [data.testLabels] }, p.batch)).map(String);
    } else {
      model = new BatchedAutoencoder({ inputs: 784, hidden: spec.arch.hidden }, [p.seed]);
      await trainModels(model, data.images, job, opts, reconstructionLoss);
      [metric.loss] = (await evaluateReconstruction(model, data.images, [data.testItems])).map(String);
    }
    const [state] = await unstack(model);
    model.dispose();
    const metadata = {
      tree: spec.name,
      role: 'base',
      architecture: JSON.stringify(spec.arch),
      pretrain_source: p.source,
      pretrain_classes: JSON.stringify(data.classes),
      num_classes: String(data.classes.length),
      seed: String(p.seed),
      epochs: String(p.epochs),
      learning_rate: String(p.lr),
      ...(smoothing ? { smoothing: String(smoothing) } : {}),
      ...metric,
    };
    writeFileAtomic(path, toSafetensors(state, metadata));
    const shown = metric.accuracy ? `held-out accuracy ${(100 * Number(metric.accuracy)).toFixed(1)}%` : `held-out MSE ${Number(metric.loss).toFixed(4)}`;
    log(`  base ${spec.name}: pretrained on ${p.source} (${data.classes.length} classes), ${shown} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { state, record: { path: rel, classes: data.classes.length, accuracy: metric.accuracy ? Number(metric.accuracy) : undefined, loss: metric.loss ? Number(metric.loss) : undefined } };
  } finally {
    data.dispose();
  }
}

/** Rows of `drawings` for each model's classes (train or test part), with labels in the model's class order. */
function itemsOf(plans: ModelPlan[], drawings: DrawingSet, part: 'train' | 'test'): { items: Int32Array[]; labels: Int32Array[] } {
  const items = plans.map((p) => {
    const parts = p.classes.map((name) => drawings[part](drawings.classes.indexOf(name)));
    const out = new Int32Array(parts.reduce((n, x) => n + x.length, 0));
    parts.reduce((at, x) => (out.set(x, at), at + x.length), 0);
    return out;
  });
  const labels = plans.map((p, m) => Int32Array.from(items[m], (_, i) => Math.floor((i * p.classes.length) / items[m].length)));
  return { items, labels };
}

interface ChunkResult {
  states: StateDict[];
  /** Per-model fields for the record and metadata. */
  metrics: Partial<ModelRecord>[];
  trainLoss: number;
}

async function trainChunk(spec: TreeSpec, base: StateDict, chunk: ModelPlan[], drawings: DrawingSet): Promise<ChunkResult> {
  const train = itemsOf(chunk, drawings, 'train');
  const test = itemsOf(chunk, drawings, 'test');
  const seeds = chunk.map((p) => p.seed);
  const opts = { epochs: chunk.map((p) => p.epochs), lr: chunk.map((p) => p.lr), batch: spec.batch, weightDecay: spec.kind === 'classifier' ? spec.weightDecay : 0 };
  if (spec.kind === 'classifier') {
    const model = classifierArch(spec.arch).fromBase(spec.arch, base, spec.pool / 2, seeds);
    try {
      const trainLoss = await trainClassifiers(model, drawings.images, { ...train, seeds }, opts);
      const acc = await evaluateClassifiers(model, drawings.images, test, spec.batch);
      return { states: await unstack(model), metrics: acc.map((accuracy) => ({ accuracy })), trainLoss };
    } finally {
      model.dispose();
    }
  }
  const model = new BatchedLora({ inputs: 784, hidden: spec.arch.hidden }, base, spec.rank, spec.alpha, seeds);
  try {
    // Up-projections start at zero, so before training every adapter is exactly the base.
    const baseLoss = await evaluateReconstruction(model, drawings.images, test.items);
    const trainLoss = await trainModels(model, drawings.images, { ...train, seeds }, opts, reconstructionLoss);
    const loss = await evaluateReconstruction(model, drawings.images, test.items);
    return { states: await unstack(model), metrics: loss.map((l, k) => ({ loss: l, baseLoss: baseLoss[k] })), trainLoss };
  } finally {
    model.dispose();
  }
}

/** Models per batch: the chunk asked for, cut so that a parameter of `largest` f32 weights, stacked over the batch,
 * fits one storage binding and one buffer. */
export function modelsPerBatch(chunk: number, largest: number, limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }): number {
  return Math.max(1, Math.min(chunk, Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / (4 * largest))));
}

async function buildTree(zoo: string, spec: TreeSpec, preset: Preset, manifest: Manifest, drawings: DrawingSet, budget: { left: number }, chunkSize: number, log: (s: string) => void): Promise<BuildReport['trees'][number]> {
  const record = manifest.trees[spec.name];
  const base = await buildBase(zoo, spec, manifest.classSplit, log);
  record.base = base.record;
  writeManifest(zoo, manifest);

  const plans = planTree(spec, record.pool, treeSeed(preset, spec));
  const swept = removeStaleTemps(join(zoo, spec.name));
  if (swept) log(`  ${spec.name}: removed ${swept} partly written file(s) left by an interrupted build`);
  // A model counts as built when its file is there and whole (a readable header whose tensors fit the file, and the
  // record the build writes); anything else is removed and trained again. Each file is checked once per build.
  const whole = new Map<string, boolean>();
  const check = (path: string): boolean => {
    if (!existsSync(path)) return false;
    try {
      const f = readSafetensorsFile(path);
      f.close();
      JSON.parse(f.metadata.record ?? '');
      return true;
    } catch (e) {
      log(`  ${spec.name}: ${path} is damaged (${e instanceof Error ? e.message : e}); it will be trained again`);
      rmSync(path, { force: true });
      return false;
    }
  };
  const onDisk = (p: { split: Split; id: string }): boolean => {
    const path = modelPath(zoo, spec.name, p.split, p.id);
    if (!whole.has(path)) whole.set(path, check(path));
    return whole.get(path)!;
  };
  // A model recorded but without its file (deleted, or a manifest carried without the models) is trained again, not
  // counted twice: its record goes until the model is written anew.
  const kept = record.models.filter(onDisk);
  if (kept.length < record.models.length) {
    log(`  ${spec.name}: ${record.models.length - kept.length} recorded model(s) have no file; they will be trained again`);
    record.models = kept;
    writeManifest(zoo, manifest);
  }
  const recorded = new Set(record.models.map((m) => m.id));
  // A model written but not yet in the manifest (stopped between the two writes) is recorded from its metadata.
  for (const p of plans) {
    if (!recorded.has(p.id) && onDisk(p)) record.models.push(JSON.parse(loadState(modelPath(zoo, spec.name, p.split, p.id)).metadata.record) as ModelRecord);
  }
  const todo = plans.filter((p) => !onDisk(p));
  // Each model of a batch keeps its own learning rate and epochs (trainModels freezes a model once its epochs are
  // over); ordering by epochs keeps batches mostly of one length, so little of a batch's time goes to frozen models.
  // A run bounded by --max-models takes models in plan order first, so a partial tree is a fair sample of the plan.
  const ordered = todo.slice(0, budget.left).sort((a, b) => a.epochs - b.epochs || a.index - b.index);
  const largest = Math.max(...[...base.state.values()].map((v) => v.data.length));
  const size = modelsPerBatch(chunkSize, largest, engine().device.limits);
  if (size < chunkSize && ordered.length > size) log(`  ${spec.name}: batches of ${size} models (a stacked ${largest}-weight tensor must fit one storage binding)`);
  const t0 = performance.now();
  let trained = 0;
  for (let at = 0; at < ordered.length && budget.left > 0; at += size) {
    const chunk = ordered.slice(at, at + Math.min(size, budget.left));
    const c0 = performance.now();
    const { states, metrics, trainLoss } = await trainChunk(spec, base.state, chunk, drawings);
    chunk.forEach((p, k) => {
      const rec: ModelRecord = { id: p.id, split: p.split, classes: p.classes, seed: p.seed, lr: p.lr, epochs: p.epochs, ...metrics[k] };
      const metadata: Record<string, string> = {
        tree: spec.name,
        base: base.record.path,
        architecture: JSON.stringify(spec.arch),
        classes: JSON.stringify(p.classes),
        seed: String(p.seed),
        learning_rate: String(p.lr),
        epochs: String(p.epochs),
        batch_size: String(spec.batch),
        split: p.split,
        record: JSON.stringify(rec),
      };
      if (spec.kind === 'lora') Object.assign(metadata, { rank: String(spec.rank), alpha: String(spec.alpha), smoothing: String(spec.smoothing) });
      for (const [key, v] of Object.entries(metrics[k])) metadata[key] = String(v);
      writeFileAtomic(modelPath(zoo, spec.name, p.split, p.id), toSafetensors(states[k], metadata));
      record.models.push(rec);
    });
    trained += chunk.length;
    budget.left -= chunk.length;
    record.trainSeconds += (performance.now() - c0) / 1000;
    writeManifest(zoo, manifest);
    const shown =
      spec.kind === 'classifier'
        ? `mean held-out accuracy ${(100 * mean(metrics.map((m) => m.accuracy!))).toFixed(1)}%`
        : `mean held-out MSE ${mean(metrics.map((m) => m.loss!)).toFixed(4)} (base ${mean(metrics.map((m) => m.baseLoss!)).toFixed(4)})`;
    log(`  ${spec.name}: ${record.models.length}/${plans.length} models (batch of ${chunk.length}, ${range(chunk.map((p) => p.epochs))} epochs, lr ${range(chunk.map((p) => p.lr))}: ${shown}; final training loss of the batch ${trainLoss.toFixed(4)}, ${((performance.now() - c0) / 1000).toFixed(1)} s)`);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { name: spec.name, trained, skipped: plans.length - todo.length, seconds, modelsPerSecond: trained / Math.max(seconds, 1e-9) };
}

/** The embeddings of "a drawing of a {class}" for all 345 classes, for zero-shot heads (written once). */
async function ensureTextEmbeddings(zoo: string, log: (s: string) => void): Promise<void> {
  const path = textEmbeddingsPath(zoo, USE_LITE_NAME);
  if (existsSync(path)) return;
  const t0 = performance.now();
  const encoder = await loadUseLite();
  try {
    await writeClassEmbeddings(path, encoder, await listQuickdrawClasses());
  } finally {
    encoder.dispose();
  }
  log(`text embeddings (${encoder.name}, ${encoder.dim}-d) of all class prompts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** The preset and trees a build would use; fails, naming the problem, on options no build could run with (checked
 * before the engine starts, so a typo costs nothing). */
export function checkBuildOptions(opts: BuildOptions): { preset: Preset; trees: TreeSpec[] } {
  const preset = getPreset(opts.preset);
  const unknown = (opts.trees ?? []).filter((n) => !preset.trees.some((t) => t.name === n));
  if (unknown.length) throw new Error(`zoo: preset ${preset.name} has no tree ${unknown.join(', ')} (has ${preset.trees.map((t) => t.name).join(', ')})`);
  if (opts.chunk !== undefined && !(Number.isInteger(opts.chunk) && opts.chunk >= 1)) throw new Error(`zoo: chunk must be a whole number of models >= 1, got ${opts.chunk}`);
  if (opts.maxModels !== undefined && !(Number.isInteger(opts.maxModels) && opts.maxModels >= 0)) throw new Error(`zoo: max-models must be a whole number >= 0, got ${opts.maxModels}`);
  if (existsSync(opts.out) && !statSync(opts.out).isDirectory()) throw new Error(`zoo: ${opts.out} is a file, not a folder; choose another --out`);
  if (existsSync(join(opts.out, 'run.json'))) throw new Error(`zoo: ${opts.out} is a run folder (run.json); build the zoo in another --out`);
  // Named trees build in the order named (cheap ones first, when time is short), each once.
  const trees = opts.trees ? [...new Set(opts.trees)].map((n) => preset.trees.find((t) => t.name === n)!) : preset.trees;
  return { preset, trees };
}

export async function buildZoo(opts: BuildOptions): Promise<BuildReport> {
  const log = opts.log ?? (() => {});
  const { preset, trees } = checkBuildOptions(opts);
  return withLock(join(opts.out, '.build.lock'), `zoo ${opts.out}`, () => buildLocked(opts, preset, trees, log));
}

async function buildLocked(opts: BuildOptions, preset: Preset, trees: TreeSpec[], log: (s: string) => void): Promise<BuildReport> {
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
    const stored = manifest.trees[spec.name];
    if (stored && trees.includes(spec) && canonical(stored.spec) !== canonical(spec)) {
      // Resuming would mix models of two recipes in one tree.
      throw new Error(
        `zoo: tree ${spec.name} in ${opts.out} was built with another recipe than this version's "${preset.name}" preset ` +
          `(stored ${JSON.stringify(stored.spec)}); build into a new folder, or delete ${spec.name}/ and its entry in zoo.json to rebuild that tree`,
      );
    }
    if (stored) continue;
    const pool = treePool(spec, split);
    const planned: Record<string, number> = {};
    for (const p of planTree(spec, pool, treeSeed(preset, spec))) planned[p.split] = (planned[p.split] ?? 0) + 1;
    manifest.trees[spec.name] = { spec, pool, base: null, planned, models: [], trainSeconds: 0 };
  }
  writeManifest(opts.out, manifest);
  await ensureTextEmbeddings(opts.out, log);

  // One upload of the drawings per smoothing width, holding the pools of the trees that use it.
  const drawingSets = new Map<number, DrawingSet>();
  const budget = { left: opts.maxModels ?? Infinity };
  const chunkSize = opts.chunk ?? preset.chunk;
  const report: BuildReport = { trees: [], complete: false };
  try {
    for (const spec of trees) {
      log(`tree ${spec.name}`);
      const width = smoothingOf(spec);
      if (!drawingSets.has(width)) {
        const needed = [...new Set(trees.filter((t) => smoothingOf(t) === width).flatMap((t) => manifest!.trees[t.name].pool))].sort();
        drawingSets.set(width, await loadDrawingSet(needed, width));
      }
      report.trees.push(await buildTree(opts.out, spec, preset, manifest, drawingSets.get(width)!, budget, chunkSize, log));
    }
  } finally {
    for (const d of drawingSets.values()) d.dispose();
  }
  const planned = (t: TreeSpec): number => Object.values(manifest!.trees[t.name].planned).reduce((a, b) => a + b, 0);
  report.complete = preset.trees.every((t) => manifest!.trees[t.name].models.length === planned(t));
  manifest.status = report.complete ? 'complete' : 'building';
  writeManifest(opts.out, manifest);
  return report;
}

export type { ClassifierTreeSpec, LoraTreeSpec };
