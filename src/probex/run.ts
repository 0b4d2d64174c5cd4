// `probex train`: for every tree (and every model-split seed) load the chosen layer once, train ProbeX and the
// baselines on it, the text-aligned head where the tree has single-class models and text embeddings, and the shared
// ablation (one ProbeX across all trees whose layers have the same shape). Checkpoints and run.json go under RUN/.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJsonFile, withLock, writeFileAtomic } from '../node/files.ts';
import { bySplit, treeSamples, type TreeSamples } from './data/samples.ts';
import { attachFeatures, disposeSplit, loadSplitData, type SplitData } from './data/split-data.ts';
import { Expert, type HeadKind, type Method } from './expert.ts';
import { defaultLayer, treeLayers } from './layer-choice.ts';
import { resplit, splitDigest } from './resplit.ts';
import { trainExpert, type ClassText, type TrainConfig, type TrainResult } from './train.ts';

export const RUN_FORMAT = 'probex-run/1';

/** A run's settings: the optimisation ones at the top level are the discriminative heads', the architecture ones
 * every expert's; (text) holds the text-aligned heads' own, which keep the paper's text defaults unless set. */
export type RunConfig = Partial<TrainConfig> & { text?: Partial<TrainConfig> };

/** Settings the two heads default differently (DEFAULTS), so the discriminative head's never carry over to the text head. */
const OPTIMISATION = ['epochs', 'lr', 'weightDecay', 'batch', 'validateEvery'] as const;

/** The training settings of one expert of a run: the run's (less the optimisation ones for the text head), the text
 * head's own on top for that head, its seed. */
export function expertConfig(config: RunConfig | undefined, head: HeadKind, seed: number): Partial<TrainConfig> {
  const { text, ...all } = config ?? {};
  if (head !== 'text') return { ...all, seed: seed + 1 };
  const shared: Partial<TrainConfig> = { ...all };
  for (const k of OPTIMISATION) delete shared[k];
  return { ...shared, ...text, seed: seed + 1 };
}

export interface ExpertRecord {
  method: Method;
  head: HeadKind;
  file: string;
  /** Text head: the checkpoint kept for zero-shot (best on val_holdout). */
  zeroShotFile?: string;
  parameters: number;
  seconds: number;
  best: { epoch: number; score: number };
  /** For the shared ablation: the trees it was trained on. */
  trees?: string[];
}

export interface TreeRun {
  tree: string;
  task: 'multi-label' | 'single';
  layer: string;
  shape: [number, number];
  labels: string[];
  heldout: string[];
  experts: ExpertRecord[];
  /** splitDigest of the tree's models for this seed (absent in runs made before it was recorded). */
  splits?: string;
  /** The per-layer sweep (ProbeX validation score per layer), when --sweep ran. */
  sweep?: { layer: string; shape: [number, number]; val: number; seconds: number }[];
}

export interface RunManifest {
  format: typeof RUN_FORMAT;
  source: { zoo?: string; modelj?: { root: string; subset: string; classMap?: string; layer?: string } };
  created: string;
  config: RunConfig;
  methods: Method[];
  text: { encoder: string; file: string } | null;
  seeds: { seed: number; trees: TreeRun[]; shared: (ExpertRecord & { layer: string })[] }[];
}

export interface TrainRunOptions {
  trees: TreeSamples[];
  out: string;
  source: RunManifest['source'];
  methods?: Method[];
  /** Layer per tree (or one name for all); default: defaultLayer. */
  layer?: string | Record<string, string>;
  sweep?: boolean;
  seeds?: number;
  config?: RunConfig;
  text?: (ClassText & { file: string }) | null;
  shared?: boolean;
  log?: (s: string) => void;
}

export const runPath = (run: string): string => join(run, 'run.json');

export function readRun(run: string): RunManifest {
  const p = runPath(run);
  if (!existsSync(p)) {
    if (!existsSync(run)) throw new Error(`${run}: no such folder (a run is trained with \`probex train --zoo DIR --out ${run}\`)`);
    if (existsSync(join(run, 'zoo.json'))) throw new Error(`${run} is a zoo folder (zoo.json), not a run; give --run the folder \`probex train --out\` wrote`);
    throw new Error(`${run}: not a run (no run.json; \`probex train --zoo DIR --out ${run}\` makes one)`);
  }
  return readJsonFile<RunManifest>(p, RUN_FORMAT);
}

/** A checkpoint of a run, by its path relative to the run folder (as run.json records it). */
export function loadRunExpert(run: string, file: string): Expert {
  const path = join(run, file);
  return Expert.load(new Uint8Array(readFileSync(path)), path);
}

async function saveExpert(r: TrainResult, run: string, file: string): Promise<void> {
  const path = join(run, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, await r.expert.save());
}

interface Loaded {
  train: SplitData;
  val: SplitData | null;
  valHoldout: SplitData | null;
}

function loadTree(t: TreeSamples, layer: string, needFeatures: boolean, log: (s: string) => void): Loaded {
  const split = (s: 'train' | 'val' | 'val_holdout'): SplitData | null => {
    const models = bySplit(t, s);
    return models.length ? loadSplitData(models, layer, s === 'val_holdout' ? t.heldout : t.labels) : null;
  };
  const train = split('train')!;
  const val = split('val');
  const valHoldout = split('val_holdout');
  if (needFeatures) attachFeatures(train, [val, valHoldout].filter((d): d is SplitData => d !== null));
  log(`  ${t.tree}: ${layer} [${train.layer.rows} x ${train.layer.cols}${train.layer.kind === 'lora' ? `, LoRA rank ${train.layer.rank}` : ''}], ${train.layer.count} train / ${val?.layer.count ?? 0} val models`);
  return { train, val, valHoldout };
}

function disposeLoaded(d: Loaded): void {
  for (const split of [d.train, d.val, d.valHoldout]) if (split) disposeSplit(split);
}

const relFile = (seed: number, tree: string, name: string): string => join(`seed-${seed}`, tree, `${name}.safetensors`);

/** The run already in `out`, if any; it must have been started with the same source, settings and methods. */
function resumable(o: TrainRunOptions, fresh: RunManifest): RunManifest | null {
  if (!existsSync(runPath(o.out))) return null;
  const prev = readRun(o.out);
  const same = (k: 'source' | 'config' | 'methods' | 'text'): boolean => JSON.stringify(prev[k]) === JSON.stringify(fresh[k]);
  const differ = (['source', 'config', 'methods', 'text'] as const).filter((k) => !same(k));
  if (differ.length) {
    throw new Error(`${o.out} holds a run with other ${differ.join(', ')} (${differ.map((k) => JSON.stringify(prev[k])).join('; ')}); choose another --out, or rerun with the same settings to continue it`);
  }
  return prev;
}

/** Holds RUN's lock while `work` runs: one process at a time trains into a run folder or writes its results. */
export const withRunLock = <T>(run: string, work: () => Promise<T>): Promise<T> => withLock(join(run, '.run.lock'), `run ${run}`, work);

/** Trains every tree of every seed. A rerun with the same settings continues an interrupted run: run.json is written
 * after every expert, and experts whose checkpoints exist are not trained again. */
export async function trainRun(o: TrainRunOptions): Promise<RunManifest> {
  if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new Error(`${o.out} is a file, not a folder; choose another --out`);
  if (existsSync(join(o.out, 'zoo.json'))) throw new Error(`${o.out} is a zoo folder (zoo.json); train the run into another --out`);
  return withRunLock(o.out, () => trainLocked(o));
}

async function trainLocked(o: TrainRunOptions): Promise<RunManifest> {
  const log = o.log ?? (() => {});
  const methods = o.methods ?? ['probex', 'dense', 'dense-z', 'statnn'];
  const seeds = o.seeds ?? 1;
  if (!(Number.isInteger(seeds) && seeds >= 1)) throw new Error(`--seeds must be a positive whole number, got ${seeds}`);
  mkdirSync(o.out, { recursive: true });
  const fresh: RunManifest = {
    format: RUN_FORMAT,
    source: o.source,
    created: new Date().toISOString(),
    config: o.config ?? {},
    methods,
    text: o.text ? { encoder: o.text.encoder, file: o.text.file } : null,
    seeds: [],
  };
  const manifest = resumable(o, fresh) ?? fresh;
  const save = (): void => writeFileAtomic(runPath(o.out), JSON.stringify(manifest, null, 1));
  const done = (file: string | undefined): boolean => file !== undefined && existsSync(join(o.out, file));
  // A sweep picks each seed's layer on that seed's validation models: a layer picked on seed 0's would have seen
  // models that other seeds deal into their test splits.
  const best = (sweep: readonly { layer: string; val: number }[]): string => sweep.reduce((a, b) => (b.val > a.val ? b : a)).layer;
  const sweepCache = new Map<string, string>(); // `${seed}/${tree}` -> layer
  for (const e of manifest.seeds) {
    for (const t of e.trees) if (t.sweep?.length) sweepCache.set(`${e.seed}/${t.tree}`, best(t.sweep));
  }
  for (let seed = 0; seed < seeds; seed++) {
    log(`split seed ${seed}`);
    let entry = manifest.seeds.find((e) => e.seed === seed);
    if (!entry) manifest.seeds.push((entry = { seed, trees: [], shared: [] }));
    const trees = o.trees.map((t) => resplit(t, seed));
    const chosen = new Map<string, { layer: string; shape: [number, number] }>();
    for (const t of trees) {
      const layers = treeLayers(t);
      const named = typeof o.layer === 'string' ? o.layer : o.layer?.[t.tree];
      let record = entry.trees.find((r) => r.tree === t.tree);
      if (!record) entry.trees.push((record = { tree: t.tree, task: t.task, layer: '', shape: [0, 0], labels: t.labels, heldout: t.heldout, experts: [] }));
      const digest = splitDigest(t);
      if (record.splits && record.splits !== digest) {
        throw new Error(`${o.out}: tree "${t.tree}" has other models than when this run started (split seed ${seed}: ${record.splits} then, ${digest} now); its experts would be scored on models they trained on. Choose another --out`);
      }
      record.splits = digest;
      const sweepKey = `${seed}/${t.tree}`;
      if (o.sweep && !named && !sweepCache.has(sweepKey)) {
        record.sweep = [];
        for (const l of layers) {
          const data = loadTree(t, l.name, false, log);
          const r = await trainExpert({ method: 'probex', head: 'classes', task: t.task, tree: t.tree, train: data.train, val: data.val, config: expertConfig(o.config, 'classes', seed) });
          record.sweep.push({ layer: l.name, shape: l.shape, val: r.best.score, seconds: r.seconds });
          log(`    sweep ${l.name} [${l.shape.join(' x ')}]: val ${(100 * r.best.score).toFixed(1)}% (${r.seconds.toFixed(1)} s)`);
          r.expert.dispose();
          disposeLoaded(data);
        }
        sweepCache.set(sweepKey, best(record.sweep));
      }
      const layerName = named ?? sweepCache.get(sweepKey) ?? defaultLayer(layers).name;
      const info = layers.find((l) => l.name === layerName);
      if (!info) throw new Error(`tree "${t.tree}": no layer "${layerName}" (has ${layers.map((l) => l.name).join(', ')})`);
      if (record.layer && record.layer !== layerName) throw new Error(`${o.out}: tree "${t.tree}" was trained on layer "${record.layer}", not "${layerName}"; choose another --out`);
      record.layer = layerName;
      record.shape = info.shape;
      chosen.set(t.tree, { layer: layerName, shape: info.shape });
      const textMethods = t.task === 'single' && o.text ? methods.filter((m) => m === 'probex' || m === 'dense-z') : [];
      const has = (method: Method, head: HeadKind): boolean => record.experts.some((e) => e.method === method && e.head === head && done(e.file));
      const todo = [...methods.map((m) => [m, 'classes'] as const), ...textMethods.map((m) => [m, 'text'] as const)].filter(([m, h]) => !has(m, h));
      if (todo.length === 0) {
        log(`  ${t.tree}: all experts of seed ${seed} are there`);
        continue;
      }
      const data = loadTree(t, layerName, todo.some(([m]) => m === 'statnn'), log);
      const common = { task: t.task, tree: t.tree, train: data.train, val: data.val, log };
      for (const [method, head] of todo) {
        log(`  ${t.tree} ${method}${head === 'text' ? ' text-aligned' : ''}`);
        const valHoldout = head === 'text' && data.valHoldout ? { data: data.valHoldout, classes: t.heldout } : null;
        const r = await trainExpert({ ...common, method, head, text: head === 'text' ? o.text! : undefined, valHoldout, config: expertConfig(o.config, head, seed) });
        const file = relFile(seed, t.tree, head === 'text' ? `${method}-text` : method);
        await saveExpert(r, o.out, file);
        const rec: ExpertRecord = { method, head, file, parameters: r.parameters, seconds: r.seconds, best: r.best };
        if (r.zeroShot) {
          r.expert.restore(r.zeroShot.state);
          rec.zeroShotFile = relFile(seed, t.tree, `${method}-text.zeroshot`);
          await saveExpert(r, o.out, rec.zeroShotFile);
        }
        record.experts = [...record.experts.filter((e) => !(e.method === method && e.head === head)), rec];
        save();
        log(`  ${t.tree} ${method}${head === 'text' ? ' text' : ''}: best val ${(100 * r.best.score).toFixed(1)}% at epoch ${r.best.epoch}${r.zeroShot ? `, best val_holdout ${(100 * r.zeroShot.score).toFixed(1)}%` : ''}, ${r.parameters} parameters, ${r.seconds.toFixed(1)} s`);
        r.expert.dispose();
      }
      disposeLoaded(data);
    }
    if (o.shared !== false && methods.includes('probex')) await trainShared(trees, chosen, seed, o, entry, log, done, save);
    save();
  }
  return manifest;
}

/** The ablation: one ProbeX for all multi-label trees whose chosen layers share a name and shape, no routing. */
async function trainShared(trees: TreeSamples[], chosen: Map<string, { layer: string; shape: [number, number] }>, seed: number, o: TrainRunOptions, entry: RunManifest['seeds'][number], log: (s: string) => void, done: (file: string) => boolean, save: () => void): Promise<void> {
  const groups = new Map<string, TreeSamples[]>();
  for (const t of trees) {
    if (t.task !== 'multi-label') continue;
    const c = chosen.get(t.tree)!;
    const key = `${c.layer}|${c.shape.join('x')}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const multi = [...groups.values()].flat();
  if (multi.length >= 2 && [...groups.values()].every((g) => g.length < 2)) {
    log(`  shared ProbeX skipped for split seed ${seed}: no two multi-label trees chose the same layer (${multi.map((t) => `${t.tree}: ${chosen.get(t.tree)!.layer}`).join(', ')})`);
  }
  for (const [key, group] of groups) {
    if (group.length < 2) continue;
    const layer = key.split('|')[0];
    const names = group.map((t) => t.tree);
    const same = (e: RunManifest['seeds'][number]['shared'][number]): boolean => e.layer === layer && JSON.stringify(e.trees) === JSON.stringify(names);
    if (entry.shared.some((e) => same(e) && done(e.file))) continue;
    // An entry whose checkpoint is gone (an interrupted run) is replaced, not kept beside the new one.
    entry.shared = entry.shared.filter((e) => !same(e));
    const union = treeSamples('shared', group.flatMap((t) => t.models.map((m) => ({ ...m, id: `${t.tree}/${m.id}` }))), null);
    log(`  shared ProbeX over ${group.map((t) => t.tree).join(', ')} (${layer})`);
    const data = loadTree(union, layer, false, log);
    const r = await trainExpert({ method: 'probex', head: 'classes', task: 'multi-label', tree: 'shared', train: data.train, val: data.val, config: expertConfig(o.config, 'classes', seed), log });
    const file = relFile(seed, 'shared', `probex-${key.replace(/[^A-Za-z0-9.]+/g, '-')}`);
    await saveExpert(r, o.out, file);
    entry.shared.push({ method: 'probex', head: 'classes', file, parameters: r.parameters, seconds: r.seconds, best: r.best, trees: names, layer });
    save();
    r.expert.dispose();
    disposeLoaded(data);
  }
}
