// A quick per-layer signal check: can a linear probe on a layer's weights tell what a model was fine-tuned on?
// Each layer is reduced to a fixed seeded sample of its entries (all of them when small), z-scored over the training
// models, and a linear map is trained on the train split and scored on the test split: per-label binary accuracy
// (chance 0.5) for classifier trees, top-1 class accuracy for the LoRA tree (LoRA layers probed as up . down).
// A layer at chance carries no signal; one near 1.0 is saturated (too easy to benchmark anything on). It sits above
// zoo/ and data/ (it reads a zoo's models through data/'s layer reader); zoo/summary.ts shows what it wrote.
import { Adam, Linear, backward, bceWithLogits, crossEntropy, engine, noGrad, tensor, tidy, keep, type Tensor } from '../core/index.ts';
import { writeFileAtomic } from '../node/files.ts';
import { readSafetensorsFile } from '../node/safetensors-file.ts';
import { permutation, seededRandom } from '../datasets/split.ts';
import { readManifest, type ModelRecord } from './zoo/manifest.ts';
import { modelPath } from './zoo/layout.ts';
import type { LayerSignal } from './zoo/summary.ts';
import { join } from 'node:path';
import { listLayers, readLayerFrom, type LayerInfo, type LayerMatrix } from './data/layers.ts';

const MAX_FEATURES = 4096;

/** The probed entries `pick` of one model's layer; a LoRA's entries of up . down, computed without forming it. */
function entries(m: LayerMatrix, pick: Int32Array): Float32Array {
  if (m.kind === 'dense') return Float32Array.from(pick, (j) => m.data[j]);
  return Float32Array.from(pick, (j) => {
    const row = Math.floor(j / m.cols);
    const col = j - row * m.cols;
    let v = 0;
    for (let k = 0; k < m.rank; k++) v += m.up[row * m.rank + k] * m.down[k * m.cols + col];
    return v;
  });
}

async function probe(x: Float32Array[], xTest: Float32Array[], y: number[][], yTest: number[][], multiLabel: boolean): Promise<number> {
  const d = x[0].length;
  // z-score each feature over the training models.
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const row of x) row.forEach((v, j) => (mu[j] += v / x.length));
  for (const row of x) row.forEach((v, j) => (sd[j] += (v - mu[j]) ** 2 / x.length));
  const z = (rows: Float32Array[]): Float32Array => {
    const out = new Float32Array(rows.length * d);
    rows.forEach((r, i) => r.forEach((v, j) => (out[i * d + j] = (v - mu[j]) / (Math.sqrt(sd[j]) + 1e-8))));
    return out;
  };
  const classes = y[0].length;
  const xt = tensor(z(x), [x.length, d]);
  const xe = tensor(z(xTest), [xTest.length, d]);
  const lin = new Linear(d, classes, { seed: 7 });
  const opt = new Adam(lin.parameters(), { lr: 1e-3, weightDecay: 1e-2 });
  const targets = multiLabel ? tensor(Float32Array.from(y.flat()), [y.length, classes]) : tensor(Int32Array.from(y.map((r) => r.indexOf(1))), [y.length], 'i32');
  for (let step = 0; step < 300; step++) {
    tidy(() => {
      const logits = lin.forward(xt);
      const loss = multiLabel ? bceWithLogits(logits, targets) : crossEntropy(logits, targets);
      opt.zeroGrad({ setToNone: true });
      backward(loss);
      opt.update();
    });
    // Each step starts a new submit, so it records at the same parameter offsets as the last and reuses its bind groups.
    engine().flush();
  }
  const out: Tensor = noGrad(() => tidy(() => keep(lin.forward(xe))));
  const logits = await out.data();
  [out, xt, xe, targets].forEach((t) => t.dispose());
  lin.dispose();
  opt.dispose();
  let hit = 0;
  if (multiLabel) {
    yTest.forEach((row, i) => row.forEach((v, c) => (hit += Number((logits[i * classes + c] > 0) === (v === 1)))));
    return hit / (yTest.length * classes);
  }
  yTest.forEach((row, i) => {
    const scores = logits.subarray(i * classes, (i + 1) * classes);
    hit += Number(scores.indexOf(Math.max(...scores)) === row.indexOf(1));
  });
  return hit / yTest.length;
}

/** Probe every layer of every tree; results go to <zoo>/signal.json for the summary. */
export async function measureSignal(zoo: string, log: (s: string) => void = () => {}): Promise<LayerSignal[]> {
  const m = readManifest(zoo);
  if (!m) throw new Error(`${zoo}: no zoo.json`);
  const results: LayerSignal[] = [];
  for (const [name, tree] of Object.entries(m.trees)) {
    const lora = tree.spec.kind === 'lora';
    // Classifiers: train on train, score on test. LoRAs: seen classes only (held-out ones have no training models).
    const train = tree.models.filter((r) => r.split === 'train');
    const test = tree.models.filter((r) => r.split === 'test');
    if (train.length < 4 || test.length < 1) continue;
    const labelSpace = lora ? [...new Set(train.map((r) => r.classes[0]))].sort() : tree.pool;
    const target = (r: ModelRecord): number[] => labelSpace.map((c) => Number(r.classes.includes(c)));
    const testRecords = test.filter((r) => !lora || labelSpace.includes(r.classes[0]));
    // The layers and the entries probed come from the first training model; each model's file is then read once, and
    // only those entries are kept (a wide tree's layers would be gigabytes held at once).
    const first = readSafetensorsFile(modelPath(zoo, name, train[0].split, train[0].id));
    let layers: { info: LayerInfo; pick: Int32Array }[];
    try {
      layers = listLayers(first).map((info) => {
        const size = info.shape[0] * info.shape[1];
        const pick = size <= MAX_FEATURES ? Int32Array.from({ length: size }, (_, j) => j) : Int32Array.from(permutation(size, seededRandom(size)).slice(0, MAX_FEATURES));
        return { info, pick };
      });
    } finally {
      first.close();
    }
    const load = (rs: ModelRecord[]): Float32Array[][] =>
      rs.map((r) => {
        const f = readSafetensorsFile(modelPath(zoo, name, r.split, r.id));
        try {
          return layers.map((l) => entries(readLayerFrom(f, l.info.name), l.pick));
        } finally {
          f.close();
        }
      });
    const trainRows = load(train);
    const testRows = load(testRecords);
    for (const [k, { info, pick }] of layers.entries()) {
      const value = await probe(trainRows.map((r) => r[k]), testRows.map((r) => r[k]), train.map(target), testRecords.map(target), !lora);
      const layer = info.kind === 'lora' ? `${info.name} (up . down)` : info.name;
      const res: LayerSignal = {
        tree: name,
        layer,
        shape: info.shape,
        features: pick.length,
        metric: lora ? 'top-1 accuracy' : 'per-label accuracy',
        value,
        chance: lora ? 1 / labelSpace.length : 0.5,
      };
      results.push(res);
      log(`  ${name} ${layer} [${info.shape.join('x')}]: ${res.metric} ${(100 * value).toFixed(1)}% (chance ${(100 * res.chance).toFixed(1)}%)`);
    }
  }
  writeFileAtomic(join(zoo, 'signal.json'), JSON.stringify(results, null, 1));
  return results;
}
