// Model-split seeds: seed 0 keeps a tree's stored train/val/test split; another seed re-deals the same models
// 70/10/20 (holdout splits, which hold the unseen classes, never move), so results can be averaged over splits.
import { mixSeed, permutation, seededRandom } from '../datasets/split.ts';
import { treeSamples, type ModelSample, type TreeSamples } from './data/samples.ts';

export function resplit(t: TreeSamples, seed: number): TreeSamples {
  if (seed === 0) return t;
  const pool = t.models.filter((m) => m.split === 'train' || m.split === 'val' || m.split === 'test');
  const order = permutation(pool.length, seededRandom(mixSeed(seed, 0x5b11)));
  const nTrain = Math.round(0.7 * pool.length);
  const nVal = Math.round(0.8 * pool.length) - nTrain;
  const moved = new Map<ModelSample, ModelSample>();
  order.forEach((k, rank) => {
    const m = pool[k];
    moved.set(m, { ...m, split: rank < nTrain ? 'train' : rank < nTrain + nVal ? 'val' : 'test' });
  });
  const models = t.models.map((m) => moved.get(m) ?? m);
  if (t.task === 'single') {
    // A seen class must keep a training model, or its test models would have no label to be scored against.
    const trained = new Set(models.filter((m) => m.split === 'train').map((m) => m.classes[0]));
    for (const [i, m] of models.entries()) {
      if ((m.split === 'val' || m.split === 'test') && !trained.has(m.classes[0])) {
        models[i] = { ...m, split: 'train' };
        trained.add(m.classes[0]);
      }
    }
  }
  return treeSamples(t.tree, models, t.base);
}

/** A fingerprint of which model is in which split (FNV-1a over sorted "id split" lines): a run records it per seed
 * and tree, so that eval can tell when the zoo's models changed since training (a re-deal would then put training
 * models into the test split and inflate every score). */
export function splitDigest(t: TreeSamples): string {
  const lines = t.models.map((m) => `${m.id} ${m.split}`).sort();
  let h = 0x811c9dc5;
  for (const line of lines) {
    for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 10, 0x01000193) >>> 0;
  }
  return `${lines.length}:${h.toString(16).padStart(8, '0')}`;
}
