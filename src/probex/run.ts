// `probex train`: for every tree (and every model-split seed) load the chosen layer once, train ProbeX and the
// baselines on it, the text-aligned head where the tree has single-class models and text embeddings, and the shared
// ablation (one ProbeX across all trees whose layers have the same shape). Checkpoints and run.json go under RUN/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../node/files.ts';
import { bySplit, treeSamples, type TreeSamples } from './data/samples.ts';
import { attachFeatures, disposeSplit, loadSplitData, type SplitData } from './data/split-data.ts';
import type { HeadKind, Method } from './expert.ts';
import { defaultLayer, treeLayers } from './layer-choice.ts';
import { resplit } from './resplit.ts';
import { trainExpert, type ClassText, type TrainConfig, type TrainResult } from './train.ts';

export const RUN_FORMAT = 'probex-run/1';

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
  /** The per-layer sweep (ProbeX validation score per layer), when --sweep ran. */
  sweep?: { layer: string; shape: [number, number]; val: number; seconds: number }[];
}

export interface RunManifest {
  format: typeof RUN_FORMAT;
  source: { zoo?: string; modelj?: { root: string; subset: string; classMap?: string; layer?: string } };
  created: string;
  config: Partial<TrainConfig>;
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
  config?: Partial<TrainConfig>;
  text?: (ClassText & { file: string }) | null;
  shared?: boolean;
  log?: (s: string) => void;
}

export const runPath = (run: string): string => join(run, 'run.json');

export function readRun(run: string): RunManifest {
  const p = runPath(run);
  if (!existsSync(p)) throw new Error(`${run}: no run.json (train one with \`probex train --zoo DIR --out ${run}\`)`);
  let m: RunManifest;
  try {
    m = JSON.parse(readFileSync(p, 'utf8')) as RunManifest;
  } catch (e) {
    throw new Error(`${p}: not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  if (m.format !== RUN_FORMAT) throw new Error(`${p}: unknown run format ${JSON.stringify(m.format)}`);
  return m;
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

const relFile = (seed: number, tree: string, name: string): string => join(`seed-${seed}`, tree, `${name}.safetensors`);

export async function trainRun(o: TrainRunOptions): Promise<RunManifest> {
  const log = o.log ?? (() => {});
  const methods = o.methods ?? ['probex', 'dense', 'dense-z', 'statnn'];
  const seeds = o.seeds ?? 1;
  if (!(Number.isInteger(seeds) && seeds >= 1)) throw new Error(`--seeds must be a positive whole number, got ${seeds}`);
  mkdirSync(o.out, { recursive: true });
  const manifest: RunManifest = {
    format: RUN_FORMAT,
    source: o.source,
    created: new Date().toISOString(),
    config: o.config ?? {},
    methods,
    text: o.text ? { encoder: o.text.encoder, file: o.text.file } : null,
    seeds: [],
  };
  const sweepCache = new Map<string, string>();
  for (let seed = 0; seed < seeds; seed++) {
    log(`split seed ${seed}`);
    const entry: RunManifest['seeds'][number] = { seed, trees: [], shared: [] };
    manifest.seeds.push(entry);
    const trees = o.trees.map((t) => resplit(t, seed));
    const chosen = new Map<string, { layer: string; shape: [number, number] }>();
    for (const t of trees) {
      const layers = treeLayers(t);
      const named = typeof o.layer === 'string' ? o.layer : o.layer?.[t.tree];
      const record: TreeRun = { tree: t.tree, task: t.task, layer: '', shape: [0, 0], labels: t.labels, heldout: t.heldout, experts: [] };
      if (o.sweep && !named && !sweepCache.has(t.tree)) {
        record.sweep = [];
        for (const l of layers) {
          const data = loadTree(t, l.name, false, log);
          const r = await trainExpert({ method: 'probex', head: 'classes', task: t.task, tree: t.tree, train: data.train, val: data.val, config: { ...o.config, seed: seed + 1 } });
          record.sweep.push({ layer: l.name, shape: l.shape, val: r.best.score, seconds: r.seconds });
          log(`    sweep ${l.name} [${l.shape.join(' x ')}]: val ${(100 * r.best.score).toFixed(1)}% (${r.seconds.toFixed(1)} s)`);
          r.expert.dispose();
          [data.train, data.val, data.valHoldout].forEach((d) => d && disposeSplit(d));
        }
        const best = record.sweep.reduce((a, b) => (b.val > a.val ? b : a));
        sweepCache.set(t.tree, best.layer);
      }
      const layerName = named ?? sweepCache.get(t.tree) ?? defaultLayer(layers).name;
      const info = layers.find((l) => l.name === layerName);
      if (!info) throw new Error(`tree "${t.tree}": no layer "${layerName}" (has ${layers.map((l) => l.name).join(', ')})`);
      record.layer = layerName;
      record.shape = info.shape;
      chosen.set(t.tree, { layer: layerName, shape: info.shape });
      const data = loadTree(t, layerName, methods.includes('statnn'), log);
      const common = { task: t.task, tree: t.tree, train: data.train, val: data.val, log };
      for (const method of methods) {
        log(`  ${t.tree} ${method}`);
        const r = await trainExpert({ ...common, method, head: 'classes', config: { ...o.config, seed: seed + 1 } });
        const file = relFile(seed, t.tree, method);
        await saveExpert(r, o.out, file);
        record.experts.push({ method, head: 'classes', file, parameters: r.parameters, seconds: r.seconds, best: r.best });
        log(`  ${t.tree} ${method}: best val ${(100 * r.best.score).toFixed(1)}% at epoch ${r.best.epoch}, ${r.parameters} parameters, ${r.seconds.toFixed(1)} s`);
        r.expert.dispose();
      }
      if (t.task === 'single' && o.text) {
        for (const method of methods.filter((m) => m === 'probex' || m === 'dense-z')) {
          log(`  ${t.tree} ${method} text-aligned`);
          const valHoldout = data.valHoldout ? { data: data.valHoldout, classes: t.heldout } : null;
          const r = await trainExpert({ ...common, method, head: 'text', text: o.text, valHoldout, config: { ...o.config, seed: seed + 1 } });
          const file = relFile(seed, t.tree, `${method}-text`);
          await saveExpert(r, o.out, file);
          const rec: ExpertRecord = { method, head: 'text', file, parameters: r.parameters, seconds: r.seconds, best: r.best };
          if (r.zeroShot) {
            r.expert.restore(r.zeroShot.state);
            rec.zeroShotFile = relFile(seed, t.tree, `${method}-text.zeroshot`);
            await saveExpert(r, o.out, rec.zeroShotFile);
          }
          record.experts.push(rec);
          log(`  ${t.tree} ${method} text: best seen val ${(100 * r.best.score).toFixed(1)}%${r.zeroShot ? `, best val_holdout ${(100 * r.zeroShot.score).toFixed(1)}%` : ''}`);
          r.expert.dispose();
        }
      }
      [data.train, data.val, data.valHoldout].forEach((d) => d && disposeSplit(d));
      entry.trees.push(record);
      writeFileAtomic(runPath(o.out), JSON.stringify(manifest, null, 1));
    }
    if (o.shared !== false && methods.includes('probex')) await trainShared(trees, chosen, seed, o, entry, log);
    writeFileAtomic(runPath(o.out), JSON.stringify(manifest, null, 1));
  }
  return manifest;
}

/** The ablation: one ProbeX for all multi-label trees whose chosen layers share a name and shape, no routing. */
async function trainShared(trees: TreeSamples[], chosen: Map<string, { layer: string; shape: [number, number] }>, seed: number, o: TrainRunOptions, entry: RunManifest['seeds'][number], log: (s: string) => void): Promise<void> {
  const groups = new Map<string, TreeSamples[]>();
  for (const t of trees) {
    if (t.task !== 'multi-label') continue;
    const c = chosen.get(t.tree)!;
    const key = `${c.layer}|${c.shape.join('x')}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [key, group] of groups) {
    if (group.length < 2) continue;
    const layer = key.split('|')[0];
    const union = treeSamples('shared', group.flatMap((t) => t.models.map((m) => ({ ...m, id: `${t.tree}/${m.id}` }))), null);
    log(`  shared ProbeX over ${group.map((t) => t.tree).join(', ')} (${layer})`);
    const data = loadTree(union, layer, false, log);
    const r = await trainExpert({ method: 'probex', head: 'classes', task: 'multi-label', tree: 'shared', train: data.train, val: data.val, config: { ...o.config, seed: seed + 1 }, log });
    const file = relFile(seed, 'shared', `probex-${entry.shared.length}`);
    await saveExpert(r, o.out, file);
    entry.shared.push({ method: 'probex', head: 'classes', file, parameters: r.parameters, seconds: r.seconds, best: r.best, trees: group.map((t) => t.tree), layer });
    r.expert.dispose();
    [data.train, data.val, data.valHoldout].forEach((d) => d && disposeSplit(d));
  }
}
