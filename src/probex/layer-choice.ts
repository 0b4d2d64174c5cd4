// Which layer an expert probes when none is named: the largest weight matrix other than the model's first (input)
// layer, in file order; e.g. an MLP's second hidden layer, the layer the zoo's reference numbers are about.
import { readSafetensorsFile } from '../node/safetensors-file.ts';
import { listLayers, type LayerInfo } from './data/layers.ts';
import type { TreeSamples } from './data/samples.ts';

export function treeLayers(t: TreeSamples): LayerInfo[] {
  const sample = t.models.find((m) => m.split === 'train') ?? t.models[0];
  const f = readSafetensorsFile(sample.path);
  try {
    const layers = listLayers(f);
    if (layers.length === 0) throw new Error(`${sample.path}: no weight matrix to probe`);
    return layers;
  } finally {
    f.close();
  }
}

export function defaultLayer(layers: readonly LayerInfo[]): LayerInfo {
  const candidates = layers.length > 1 ? layers.slice(1) : layers;
  return candidates.reduce((best, l) => (l.shape[0] * l.shape[1] > best.shape[0] * best.shape[1] ? l : best));
}
