// The zoo's class splits, fixed once from the sorted QuickDraw class list and a constant seed: a pretraining pool for
// the bases and a fine-tuning pool of 200 classes (170 seen in training, 30 held out for zero-shot), plus the pool
// of classes the classifier trees draw their per-model halves from.
import { permutation, seededRandom } from '../../datasets/split.ts';

export const SPLIT_SEED = 20241017;
export const FINETUNE_CLASSES = 200;
export const HELDOUT_CLASSES = 30;

export interface ClassSplit {
  /** Classes the bases are pretrained on (disjoint from the fine-tuning pool). */
  pretrain: string[];
  /** The 170 fine-tuning classes seen in training. */
  seen: string[];
  /** The 30 fine-tuning classes that only appear in holdout splits. */
  heldout: string[];
}

export function splitClasses(all: readonly string[]): ClassSplit {
  if (all.length < FINETUNE_CLASSES + 10) throw new Error(`zoo: need at least ${FINETUNE_CLASSES + 10} classes, got ${all.length}`);
  const sorted = [...all].sort();
  const order = permutation(sorted.length, seededRandom(SPLIT_SEED)).map((i) => sorted[i]);
  const finetune = order.slice(0, FINETUNE_CLASSES);
  return {
    pretrain: order.slice(FINETUNE_CLASSES).sort(),
    seen: finetune.slice(0, FINETUNE_CLASSES - HELDOUT_CLASSES).sort(),
    heldout: finetune.slice(FINETUNE_CLASSES - HELDOUT_CLASSES).sort(),
  };
}

/** The fixed pool (taken from the seen classes) that a classifier tree's models each pick half of. */
export function classifierPool(split: ClassSplit, size: number): string[] {
  if (size > split.seen.length) throw new Error(`zoo: a class pool of ${size} exceeds the ${split.seen.length} seen classes`);
  const order = permutation(split.seen.length, seededRandom(SPLIT_SEED + 1));
  return order.slice(0, size).map((i) => split.seen[i]).sort();
}
