// ProbeX as a library: train an expert, evaluate a run, route a model to its tree, embed models and texts into an
// expert's representation space, and search models by text; with the pieces those take (a zoo's trees and splits,
// layer choice, one layer's data on the GPU, prompt embeddings, metrics). examples/probex-library.ts uses them.
import { keep, l2Normalize, noGrad, tensor, tidy } from '../core/index.ts';
import { LayerData } from './data/dataset.ts';
import type { ModelSample } from './data/samples.ts';
import type { Expert } from './expert.ts';
import type { Router, RouteResult } from './routing/router.ts';
import { runExpert } from './train.ts';

export { trainExpert, textRows, type TrainJob, type TrainResult } from './train.ts';
export { evaluateRun as evaluate } from './evaluate.ts';
export { Router, routingAccuracy } from './routing/router.ts';
export { Expert } from './expert.ts';
export { zooSamples, bySplit, type ModelSample, type TreeSamples } from './data/samples.ts';
export { treeLayers, defaultLayer } from './layer-choice.ts';
export { loadSplitData, labelRows, disposeSplit, type SplitData } from './data/split-data.ts';
export { loadClassEmbeddings } from './text/precomputed.ts';
export { textEmbeddingsPath } from './text/class-embeddings.ts';
export { USE_LITE_NAME } from './text/use-lite.ts';
export { perLabelAccuracy, meanAveragePrecision, topKAccuracy } from './metrics.ts';

export function route(router: Router, path: string): RouteResult {
  return router.route(path);
}

function normalizeRows(v: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length / dim; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[i * dim + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < dim; j++) out[i * dim + j] = v[i * dim + j] * inv;
  }
  return out;
}

/** An expert run on model files (reading only its layer from each): representations [n, rep] and logits [n, k] (row
 * i for paths[i]): a class head's over its labels; a text head's over the classes whose prompt embeddings `text`
 * holds (rows of the expert's text dim; without them a text head gives no logits). */
export async function runOnFiles(expert: Expert, paths: readonly string[], text: Float32Array | null = null): Promise<{ reps: Float32Array; logits: Float32Array }> {
  if (text && (!expert.textHead || text.length === 0 || text.length % expert.spec.textDim! !== 0)) {
    throw new Error(expert.textHead ? `runOnFiles: ${text.length} values are not rows of ${expert.spec.textDim}` : `runOnFiles: expert ${expert.spec.method} of tree "${expert.spec.tree}" has no text-aligned head to score text against`);
  }
  const samples: ModelSample[] = paths.map((path, i) => ({ id: String(i), tree: expert.spec.tree, split: 'test', classes: [], path }));
  const layer = LayerData.load(samples, expert.spec.layer);
  try {
    return await runExpert(expert, { samples, layer, labels: [], targets: new Float32Array(0), classIndex: new Int32Array(samples.length).fill(-1) }, text);
  } finally {
    layer.dispose();
  }
}

/** Unit-length representations of models (row i for paths[i]), reading only the expert's layer from each file. */
export async function embedModels(expert: Expert, paths: readonly string[]): Promise<Float32Array> {
  return normalizeRows((await runOnFiles(expert, paths)).reps, expert.encoder.outDim);
}

export async function embedModel(expert: Expert, path: string): Promise<Float32Array> {
  return embedModels(expert, [path]);
}

/** Text embeddings [n, textDim] mapped by a text-aligned expert into its space, unit length: [n, rep]. */
export async function embedText(expert: Expert, embeddings: Float32Array): Promise<Float32Array> {
  if (!expert.textHead) throw new Error(`expert ${expert.spec.method} of tree "${expert.spec.tree}" has no text-aligned head`);
  const dim = expert.spec.textDim!;
  if (embeddings.length === 0 || embeddings.length % dim !== 0) throw new Error(`embedText: ${embeddings.length} values are not rows of ${dim}`);
  const out = noGrad(() => tidy(() => keep(l2Normalize(expert.textHead!.classVectors(tensor(embeddings, [embeddings.length / dim, dim])), -1))));
  const v = Float32Array.from((await out.data()) as Float32Array);
  out.dispose();
  return v;
}

export interface SearchHit {
  path: string;
  score: number;
  index: number;
}

/** The models most similar (cosine) to one text embedding under a text-aligned expert, best first. */
export async function search(expert: Expert, textEmbedding: Float32Array, paths: readonly string[], top = 10): Promise<SearchHit[]> {
  if (expert.spec.textDim !== undefined && textEmbedding.length !== expert.spec.textDim) {
    throw new Error(`search: one text embedding of ${expert.spec.textDim} values expected, got ${textEmbedding.length} (embed one query at a time)`);
  }
  const q = await embedText(expert, textEmbedding);
  const reps = await embedModels(expert, paths);
  const dim = q.length;
  const hits = paths.map((path, i) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += q[j] * reps[i * dim + j];
    return { path, score: s, index: i };
  });
  return hits.sort((a, b) => b.score - a.score).slice(0, top);
}
