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
