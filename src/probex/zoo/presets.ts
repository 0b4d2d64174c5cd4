// Zoo presets: which trees, how big, how many models, how long each trains. `default` follows Model-J's structure
// (about 1,000 fine-tunes per tree, each on a random half of a 100-class pool); `tiny` is sized for CI.
import type { PretrainSource } from './data.ts';
import type { ArchSpec } from './models/registry.ts';

export interface PretrainSpec {
  source: PretrainSource;
  seed: number;
  epochs: number;
  /** Examples per class used for pretraining. */
  perClass: number;
  lr: number;
  batch: number;
}

export interface ClassifierTreeSpec {
  name: string;
  kind: 'classifier';
  arch: ArchSpec;
  pretrain: PretrainSpec;
  models: number;
  /** Size of the class pool; each model is fine-tuned on a random half of it. */
  pool: number;
  /** Per-model hyperparameters are drawn from these choices (as the Model-J cards record). */
  epochs: number[];
  lr: number[];
  batch: number;
  weightDecay: number;
}

export type TreeSpec = ClassifierTreeSpec;

export interface Preset {
  name: string;
  trees: TreeSpec[];
  /** Models trained together in one batch. */
  chunk: number;
}

function mlpTrees(hidden: number[], models: number, pool: number, epochs: number[], pretrain: Omit<PretrainSpec, 'source' | 'seed'>, wide?: number[]): TreeSpec[] {
  const base = { kind: 'classifier' as const, models, pool, epochs, lr: [5e-4, 1e-3, 2e-3], batch: 64, weightDecay: 1e-4 };
  const trees: TreeSpec[] = [
    { ...base, name: 'mlp-quickdraw', arch: { kind: 'mlp', hidden }, pretrain: { ...pretrain, source: 'quickdraw', seed: 1 } },
    { ...base, name: 'mlp-quickdraw-seed2', arch: { kind: 'mlp', hidden }, pretrain: { ...pretrain, source: 'quickdraw', seed: 2 } },
    { ...base, name: 'mlp-fashion', arch: { kind: 'mlp', hidden }, pretrain: { ...pretrain, source: 'fashion', seed: 3 } },
    { ...base, name: 'mlp-mnist', arch: { kind: 'mlp', hidden }, pretrain: { ...pretrain, source: 'mnist', seed: 4 } },
  ];
  if (wide) trees.push({ ...base, name: 'mlp-wide', arch: { kind: 'mlp', hidden: wide }, pretrain: { ...pretrain, source: 'quickdraw', seed: 5 } });
  return trees;
}

export const PRESETS: Record<string, Preset> = {
  tiny: {
    name: 'tiny',
    chunk: 16,
    trees: mlpTrees([32, 32], 12, 10, [3], { epochs: 2, perClass: 20, lr: 2e-3, batch: 64 }),
  },
  medium: {
    name: 'medium',
    chunk: 32,
    trees: mlpTrees([128, 128], 200, 100, [4, 5, 6], { epochs: 4, perClass: 100, lr: 1e-3, batch: 64 }, [512, 512]),
  },
  default: {
    name: 'default',
    chunk: 32,
    trees: mlpTrees([256, 256], 1000, 100, [6, 7, 8, 9, 10], { epochs: 8, perClass: 1000, lr: 1e-3, batch: 128 }, [1024, 1024]),
  },
};

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new Error(`zoo: unknown preset "${name}" (choose ${Object.keys(PRESETS).join(', ')})`);
  return p;
}
