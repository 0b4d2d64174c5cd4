// The models a ProbeX expert learns from, whatever their origin (a zoo built here, or downloaded Model-J folders):
// where each model's file is, which tree and split it belongs to, and the classes it was fine-tuned on.
import { notAZoo, readManifest } from '../zoo/manifest.ts';
import { basePath, modelPath, type Split } from '../zoo/layout.ts';

export const SPLITS: readonly Split[] = ['train', 'val', 'test', 'val_holdout', 'test_holdout'];

export interface ModelSample {
  id: string;
  tree: string;
  split: Split;
  /** The classes it was fine-tuned on (a classifier: its half of the pool; a LoRA: its one class). */
  classes: string[];
  /** Its safetensors file. */
  path: string;
}

/** One tree's models and what its labels mean. */
export interface TreeSamples {
  tree: string;
  /** 'multi-label': each model has several classes of `labels` (classifier trees); 'single': one class each (LoRAs). */
  task: 'multi-label' | 'single';
  /** The label space of the discriminative head: the classes that appear in the training split, sorted. */
  labels: string[];
  /** Classes that appear only in the holdout splits (zero-shot), sorted. */
  heldout: string[];
  models: ModelSample[];
  /** The tree's base model file, when known (used by the router). */
  base: string | null;
}

/** Label space and held-out classes from the models' own records. */
export function treeSamples(tree: string, models: ModelSample[], base: string | null): TreeSamples {
  if (models.length === 0) throw new Error(`tree "${tree}": no models`);
  const train = models.filter((m) => m.split === 'train');
  if (train.length === 0) throw new Error(`tree "${tree}": no models in the train split`);
  const labels = [...new Set(train.flatMap((m) => m.classes))].sort();
  const seen = new Set(labels);
  const heldout = [...new Set(models.filter((m) => m.split.endsWith('_holdout')).flatMap((m) => m.classes))].filter((c) => !seen.has(c)).sort();
  const task = models.every((m) => m.classes.length === 1) ? 'single' : 'multi-label';
  return { tree, task, labels, heldout, models, base };
}

/** The models of a zoo's trees (all, or those named). A tree whose build has not finished is used as it is, with a
 * warning (to stderr unless `warn` says otherwise), since its splits are then smaller than planned. */
export function zooSamples(zoo: string, trees?: readonly string[], warn: (s: string) => void = (s) => console.warn(s)): TreeSamples[] {
  const m = readManifest(zoo);
  if (!m) throw notAZoo(zoo);
  const names = trees ?? Object.keys(m.trees);
  return names.map((name) => {
    const t = m.trees[name];
    if (!t) throw new Error(`${zoo}: no tree "${name}" (has ${Object.keys(m.trees).join(', ')})`);
    const models = t.models.map((r): ModelSample => ({ id: r.id, tree: name, split: r.split, classes: r.classes, path: modelPath(zoo, name, r.split, r.id) }));
    if (models.length === 0) {
      const built = Object.entries(m.trees).filter(([, x]) => x.models.length > 0).map(([n]) => n);
      throw new Error(`${zoo}: tree "${name}" has no models yet (the zoo is ${m.status}); name the trees to use with --trees ${built.join(',')}`);
    }
    const planned = Object.values(t.planned).reduce((a, b) => a + b, 0);
    if (models.length < planned) warn(`warning: ${zoo}: tree "${name}" is partly built (${models.length} of ${planned} models); run \`probex zoo build\` again to finish it`);
    return treeSamples(name, models, t.base ? basePath(zoo, name) : null);
  });
}

export function bySplit(t: TreeSamples, ...splits: Split[]): ModelSample[] {
  return t.models.filter((m) => splits.includes(m.split));
}
