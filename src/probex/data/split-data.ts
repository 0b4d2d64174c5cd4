// One split of one tree ready for an expert: its layer on the GPU, its label rows on the host (multi-hot over the
// tree's label space, or a class index), and for StatNN its weight statistics z-scored with the training split's.
import { keep, tensor, type Tensor } from '../../core/index.ts';
import { LayerData, type LayerDataOptions } from './dataset.ts';
import type { ModelSample } from './samples.ts';
import { statFeatures } from './weight-stats.ts';

export interface SplitData {
  samples: ModelSample[];
  layer: LayerData;
  /** [n, labels.length] multi-hot over the label space (classes outside it are ignored). */
  targets: Float32Array;
  /** The index of each model's first class in the label space, -1 when it is not in it. */
  classIndex: Int32Array;
  labels: string[];
  /** StatNN's z-scored statistics [n, f], once attachFeatures has run. */
  features?: Tensor;
}

export function labelRows(samples: readonly ModelSample[], labels: readonly string[]): { targets: Float32Array; classIndex: Int32Array } {
  const at = new Map(labels.map((c, i) => [c, i]));
  const targets = new Float32Array(samples.length * labels.length);
  const classIndex = new Int32Array(samples.length).fill(-1);
  samples.forEach((s, i) => {
    for (const c of s.classes) {
      const j = at.get(c);
      if (j !== undefined) targets[i * labels.length + j] = 1;
    }
    classIndex[i] = at.get(s.classes[0]) ?? -1;
  });
  return { targets, classIndex };
}

export function loadSplitData(samples: ModelSample[], layer: string, labels: string[], opts: LayerDataOptions = {}): SplitData {
  return { samples, labels, layer: LayerData.load(samples, layer, opts), ...labelRows(samples, labels) };
}

/** Computes StatNN features for every split, z-scored with the statistics of `train`, and uploads them. */
export function attachFeatures(train: SplitData, others: SplitData[]): void {
  const raw = (d: SplitData): Float32Array[] => d.samples.map((s) => statFeatures(s.path).values);
  const tr = raw(train);
  const f = tr[0].length;
  const mean = new Float64Array(f);
  const sd = new Float64Array(f);
  for (const r of tr) r.forEach((v, j) => (mean[j] += v / tr.length));
  for (const r of tr) r.forEach((v, j) => (sd[j] += (v - mean[j]) ** 2 / tr.length));
  const upload = (d: SplitData, rows: Float32Array[]): void => {
    const out = new Float32Array(rows.length * f);
    rows.forEach((r, i) => {
      if (r.length !== f) throw new Error(`${d.samples[i].path}: ${r.length} weight statistics, the training models have ${f} (different tensors)`);
      r.forEach((v, j) => (out[i * f + j] = (v - mean[j]) / (Math.sqrt(sd[j]) + 1e-8)));
    });
    d.features?.dispose();
    d.features = keep(tensor(out, [rows.length, f]));
  };
  upload(train, tr);
  for (const d of others) if (d !== train) upload(d, raw(d));
}

export function disposeSplit(d: SplitData): void {
  d.layer.dispose();
  d.features?.dispose();
}
