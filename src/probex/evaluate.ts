// `probex eval`: every trained expert of a run scored on its test split (per-label accuracy, mAP and exact top-k
// recovery for fine-tuning classes; top-1/top-5 for single-class trees; in-distribution and zero-shot accuracy,
// text-to-model retrieval and model-to-text for text-aligned experts; k-NN on the representations), the shared
// ablation scored per tree, all per model-split seed.
import { bySplit, type TreeSamples } from './data/samples.ts';
import { attachFeatures, disposeSplit, labelRows, loadSplitData, type SplitData } from './data/split-data.ts';
import { Expert } from './expert.ts';
import { knnClassify, knnMultiLabel, meanAveragePrecision, perLabelAccuracy, retrieval, topKAccuracy, topKRecovery } from './metrics.ts';
import { resplit, splitDigest } from './resplit.ts';
import { loadRunExpert, readRun, type ExpertRecord, type RunManifest } from './run.ts';
import { runExpert, textRows, type ClassText } from './train.ts';

export interface MetricRow {
  seed: number;
  tree: string;
  /** e.g. probex, dense-z, statnn, probex-text, probex (shared). */
  method: string;
  /** The layer this seed's expert read (a sweep may pick another per seed). */
  layer: string;
  metrics: Record<string, number>;
  parameters: number;
  seconds: number;
}

export interface EvaluateOptions {
  run: string;
  trees: TreeSamples[];
  text?: ClassText | null;
  log?: (s: string) => void;
}

/** sigmoid(logit) > 0.5 is logit > 0; thresholding the logit itself avoids float32 sigmoids that round to exactly
 * 0.5 (logits below about 6e-8), which training's score counts as positive. */
const LOGIT_THRESHOLD = 0;

/** Only the items (rows of a score matrix) whose label index is known. */
function known(logits: Float32Array, classIndex: Int32Array, c: number): { scores: Float32Array; truth: Int32Array } {
  const keepRows = [...classIndex.keys()].filter((i) => classIndex[i] >= 0);
  const scores = new Float32Array(keepRows.length * c);
  keepRows.forEach((r, k) => scores.set(logits.subarray(r * c, (r + 1) * c), k * c));
  return { scores, truth: Int32Array.from(keepRows.map((r) => classIndex[r])) };
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j];
  return out;
}

function classMetrics(expert: Expert, test: SplitData, logits: Float32Array, trainReps: Float32Array, testReps: Float32Array, train: SplitData): Record<string, number> {
  const n = test.layer.count;
  const c = expert.spec.labels.length;
  const dim = expert.encoder.outDim;
  if (expert.spec.task === 'multi-label') {
    const knn = knnMultiLabel(trainReps, train.targets, testReps, dim, c, Math.min(5, train.layer.count));
    return {
      per_label_acc: perLabelAccuracy(logits, test.targets, n, c, LOGIT_THRESHOLD),
      mAP: meanAveragePrecision(logits, test.targets, n, c),
      topk_recovery: topKRecovery(logits, test.targets, n, c),
      knn_per_label_acc: perLabelAccuracy(knn, test.targets, n, c),
    };
  }
  const { scores, truth } = known(logits, test.classIndex, c);
  const trainTruth = train.classIndex;
  const pred = knnClassify(trainReps, trainTruth, testReps, dim, 1);
  const knnHits = [...test.classIndex.keys()].filter((i) => test.classIndex[i] >= 0);
  // Test models of a seen class that had no training model fall outside the label space and are not scored; with
  // none left there is nothing to score (not an accuracy of 0). Top-5 needs at least 5 classes to mean anything.
  if (truth.length === 0) return { scored: 0 };
  const out: Record<string, number> = { scored: truth.length, top1: topKAccuracy(scores, truth, truth.length, c, 1) };
  if (c >= 5) out.top5 = topKAccuracy(scores, truth, truth.length, c, 5);
  out.knn_top1 = knnHits.filter((i) => pred[i] === test.classIndex[i]).length / knnHits.length;
  return out;
}

/** Text-to-model retrieval and model-to-text accuracy of a model x class cosine matrix. */
function textMetrics(prefix: string, logits: Float32Array, d: SplitData, classes: number): Record<string, number> {
  const n = d.layer.count;
  const { scores, truth } = known(logits, d.classIndex, classes);
  const out: Record<string, number> = {};
  if (truth.length > 0) {
    out[`${prefix}top1`] = topKAccuracy(scores, truth, truth.length, classes, 1);
    if (classes >= 5) out[`${prefix}top5`] = topKAccuracy(scores, truth, truth.length, classes, 5);
  }
  const ks = [1, 5, 10].filter((k) => k <= n);
  const r = retrieval(transpose(logits, n, classes), (q, item) => d.classIndex[item] === q, classes, n, ks);
  for (const k of ks) out[`${prefix}t2m_recall@${k}`] = r.recallAtK[k];
  out[`${prefix}t2m_mAP`] = r.mAP;
  return out;
}

async function evaluateTree(o: EvaluateOptions, run: RunManifest, seed: number, t: TreeSamples, log: (s: string) => void): Promise<MetricRow[]> {
  const entry = run.seeds.find((s) => s.seed === seed)!;
  const rec = entry.trees.find((r) => r.tree === t.tree);
  if (!rec) return [];
  const digest = rec.splits ? splitDigest(t) : null;
  if (rec.splits && rec.splits !== digest) {
    throw new Error(`tree "${t.tree}", split seed ${seed}: the models are not those the run trained with (split digest ${rec.splits} then, ${digest} now: models were added or removed); the test split would hold training models. Evaluate on the zoo the run was trained on, or train a new run`);
  }
  const needFeatures = rec.experts.some((e) => e.method === 'statnn');
  const load = (split: 'train' | 'test' | 'test_holdout', labels: string[]): SplitData | null => {
    const models = bySplit(t, split);
    return models.length ? loadSplitData(models, rec.layer, labels) : null;
  };
  const train = load('train', rec.labels)!;
  const test = load('test', rec.labels);
  const holdout = load('test_holdout', rec.heldout);
  if (!test) throw new Error(`tree "${t.tree}": no test models`);
  if (needFeatures) attachFeatures(train, [test, holdout].filter((d): d is SplitData => d !== null));
  const rows: MetricRow[] = [];
  for (const e of rec.experts) {
    const expert = loadRunExpert(o.run, e.file);
    try {
      let metrics: Record<string, number>;
      if (e.head === 'classes') {
        const tr = await runExpert(expert, train, null);
        const te = await runExpert(expert, test, null);
        metrics = classMetrics(expert, test, te.logits, tr.reps, te.reps, train);
      } else {
        if (!o.text) throw new Error(`${e.file}: a text-aligned expert needs the text embeddings`);
        metrics = textMetrics('seen_', (await runExpert(expert, test, textRows(o.text, rec.labels))).logits, test, rec.labels.length);
        if (holdout && rec.heldout.length > 0) {
          const zs = e.zeroShotFile ? loadRunExpert(o.run, e.zeroShotFile) : expert;
          const r = await runExpert(zs, holdout, textRows(o.text, rec.heldout));
          Object.assign(metrics, textMetrics('zeroshot_', r.logits, holdout, rec.heldout.length));
          metrics.chance_zeroshot_top1 = 1 / rec.heldout.length;
          if (zs !== expert) zs.dispose();
        }
      }
      rows.push({ seed, tree: t.tree, method: e.head === 'text' ? `${e.method}-text` : e.method, layer: rec.layer, metrics, parameters: e.parameters, seconds: e.seconds });
      log(`  seed ${seed} ${t.tree} ${rows[rows.length - 1].method}: ${fmtMetrics(metrics)}`);
    } catch (err) {
      throw new Error(`split seed ${seed}, tree "${t.tree}", ${e.method}${e.head === 'text' ? ' text-aligned' : ''} (${e.file}): ${err instanceof Error ? err.message : err}`);
    } finally {
      expert.dispose();
    }
  }
  [train, test, holdout].forEach((d) => d && disposeSplit(d));
  return rows;
}

async function evaluateShared(o: EvaluateOptions, seed: number, trees: TreeSamples[], rec: ExpertRecord & { layer: string }, log: (s: string) => void): Promise<MetricRow[]> {
  const expert = loadRunExpert(o.run, rec.file);
  const rows: MetricRow[] = [];
  try {
    for (const name of rec.trees ?? []) {
      const t = trees.find((x) => x.tree === name);
      if (!t) continue;
      const test = loadSplitData(bySplit(t, 'test'), rec.layer, expert.spec.labels);
      const { logits } = await runExpert(expert, test, null);
      const c = expert.spec.labels.length;
      // Scored on the tree's own label space, as its tree expert is.
      const cols = t.labels.map((l) => expert.spec.labels.indexOf(l));
      const n = test.layer.count;
      const pick = new Float32Array(n * cols.length);
      for (let i = 0; i < n; i++) cols.forEach((j, k) => (pick[i * cols.length + k] = j >= 0 ? logits[i * c + j] : -Infinity));
      const { targets } = labelRows(test.samples, t.labels);
      const metrics = {
        per_label_acc: perLabelAccuracy(pick, targets, n, cols.length, LOGIT_THRESHOLD),
        mAP: meanAveragePrecision(pick, targets, n, cols.length),
        topk_recovery: topKRecovery(pick, targets, n, cols.length),
      };
      rows.push({ seed, tree: name, method: 'probex-shared', layer: rec.layer, metrics, parameters: rec.parameters, seconds: rec.seconds });
      log(`  seed ${seed} ${name} probex-shared: ${fmtMetrics(metrics)}`);
      disposeSplit(test);
    }
  } finally {
    expert.dispose();
  }
  return rows;
}

export function fmtMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${k === 'scored' ? String(v) : v.toFixed(3)}`)
    .join(', ');
}

export async function evaluateRun(o: EvaluateOptions): Promise<MetricRow[]> {
  const log = o.log ?? (() => {});
  const run = readRun(o.run);
  const rows: MetricRow[] = [];
  for (const s of run.seeds) {
    const trees = o.trees.map((t) => resplit(t, s.seed));
    for (const t of trees) rows.push(...(await evaluateTree(o, run, s.seed, t, log)));
    for (const shared of s.shared) rows.push(...(await evaluateShared(o, s.seed, trees, shared, log)));
  }
  return rows;
}
