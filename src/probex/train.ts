// Training one expert: minibatches gathered on the GPU from the split's resident layers (micro-batched so a batch
// of wide layers never exceeds a storage binding; gradients accumulate across micro-batches), Adam, validation
// every few epochs, and the best epoch kept. Each epoch's loss stays on the GPU until the next validation, when the
// losses are read back with the validation scores; nothing else is.
import { Adam, RunningSum, backward, bceWithLogits, concat, crossEntropy, engine, gather, keep, matmul, mul, noGrad, reshape, tensor, tidy, type Tensor } from '../core/index.ts';
import { mixSeed, permutation, seededRandom } from '../datasets/split.ts';
import type { LayerData, MicroBatch } from './data/dataset.ts';
import type { SplitData } from './data/split-data.ts';
import { Expert, type ExpertSpec, type HeadKind, type Method } from './expert.ts';
import { PROBEX_DEFAULTS } from './methods/probex.ts';
import { Dense, EntryMoments, type ZStats } from './methods/dense.ts';

export interface TrainConfig {
  epochs: number;
  lr: number;
  weightDecay: number;
  batch: number;
  validateEvery: number;
  seed: number;
  probes: number;
  proj: number;
  rep: number;
  /** StatNN's hidden width. */
  statHidden: number;
  learnScale: boolean;
  /** Largest micro-batch of layer data, in bytes (0: one storage binding, see bindingBytes). */
  microBytes: number;
}

/** The paper's settings (official code): discriminative and text-aligned runs differ. */
export const DEFAULTS: Record<HeadKind, TrainConfig> = {
  classes: { epochs: 500, lr: 1e-3, weightDecay: 1e-5, batch: 128, validateEvery: 25, seed: 1, ...PROBEX_DEFAULTS, statHidden: 256, learnScale: false, microBytes: 0 },
  text: { epochs: 200, lr: 2e-3, weightDecay: 0, batch: 128, validateEvery: 10, seed: 1, ...PROBEX_DEFAULTS, statHidden: 256, learnScale: false, microBytes: 0 },
};

/** Text embeddings of class prompts, row i for classes[i]. */
export interface ClassText {
  encoder: string;
  dim: number;
  classes: string[];
  data: Float32Array;
}

export interface TrainJob {
  method: Method;
  head: HeadKind;
  task: 'multi-label' | 'single';
  tree: string;
  train: SplitData;
  val: SplitData | null;
  /** Text head: embeddings for (at least) the training classes and, for the zero-shot checkpoint, held-out ones. */
  text?: ClassText;
  /** Text head: validation models of held-out classes and their class names (second checkpoint). */
  valHoldout?: { data: SplitData; classes: string[] } | null;
  config?: Partial<TrainConfig>;
  log?: (s: string) => void;
}

export interface TrainResult {
  expert: Expert;
  /** Best validation score (per-label accuracy for multi-label, top-1 otherwise) and its epoch. */
  best: { epoch: number; score: number };
  /** Text head: the held-out-validation checkpoint, when val_holdout exists. */
  zeroShot: { epoch: number; score: number; state: Map<string, Float32Array> } | null;
  history: { epoch: number; loss: number; val?: number; valHoldout?: number }[];
  seconds: number;
  parameters: number;
}

export function textRows(text: ClassText, classes: readonly string[]): Float32Array {
  const at = new Map(text.classes.map((c, i) => [c, i]));
  const out = new Float32Array(classes.length * text.dim);
  classes.forEach((c, i) => {
    const j = at.get(c);
    if (j === undefined) throw new Error(`text embeddings (${text.encoder}) have no entry for class "${c}"`);
    out.set(text.data.subarray(j * text.dim, (j + 1) * text.dim), i * text.dim);
  });
  return out;
}

function encoderConfig(job: TrainJob, c: TrainConfig): ExpertSpec['encoder'] {
  const { rows, cols } = job.train.layer;
  const out = job.head === 'classes' ? job.train.labels.length : c.rep;
  switch (job.method) {
    case 'probex':
      return { rows, cols, probes: c.probes, proj: c.proj, rep: c.rep, seed: c.seed };
    case 'dense':
    case 'dense-z':
      return { rows, cols, out, seed: c.seed };
    case 'statnn': {
      if (!job.train.features) throw new Error('statnn: the split has no weight statistics (attachFeatures)');
      return { features: job.train.features.shape[1], hidden: c.statHidden, out: c.rep, seed: c.seed };
    }
  }
}

/**
 * Bytes per model of the widest per-model tensor a forward pass of `method` makes, which micro-batches must keep
 * within one binding beside the stored layer: ProbeX's responses P = X U (rows x probes), or the dense form of a LoRA
 * (Dense, and the z-score statistics). A batch of 595 LoRAs of 784 x 256 is 10 MB stored, but its P is 239 MB.
 */
export function workBytesPerModel(layer: LayerData, method: Method | 'stats', probes = 0): number {
  if (method === 'probex') return 4 * layer.rows * probes;
  if (method === 'statnn') return 0;
  return 4 * layer.rows * layer.cols;
}

/** Per-entry mean and std of the training layers (read back one micro-batch at a time; LoRAs formed as up . down). */
async function layerStats(d: SplitData): Promise<ZStats> {
  const per = d.layer.rows * d.layer.cols;
  const moments = new EntryMoments(per);
  for (const mb of d.layer.microBatches(Array.from({ length: d.layer.count }, (_, i) => i), 0, workBytesPerModel(d.layer, 'stats'))) {
    const x = noGrad(() =>
      tidy(() => {
        const b = d.layer.batch(mb);
        return keep(b.kind === 'dense' ? mul(b.x, 1) : matmul(b.up, b.down));
      }),
    );
    const v = (await x.data()) as Float32Array;
    x.dispose();
    for (let i = 0; i < mb.global.length; i++) moments.add(v.subarray(i * per, (i + 1) * per));
  }
  return moments.result();
}

export function buildExpert(job: TrainJob, c: TrainConfig): Expert {
  return new Expert({
    method: job.method,
    head: job.head,
    task: job.head === 'text' ? 'single' : job.task,
    tree: job.tree,
    layer: job.train.layer.layer,
    labels: job.train.labels,
    encoder: encoderConfig(job, c),
    textDim: job.text?.dim,
    textEncoder: job.text?.encoder,
    learnScale: c.learnScale,
    seed: c.seed,
  });
}

/** The representation of a micro-batch's models. */
function encodeBatch(expert: Expert, d: SplitData, mb: MicroBatch): Tensor {
  const layer = d.layer.batch(mb);
  const features = d.features ? gather(d.features, tensor(mb.global, [mb.global.length], 'i32')) : undefined;
  return expert.encoder.encode({ layer, features });
}

/** Logits of a micro-batch: class logits, or cosine logits against `text` [c, dim]. */
export function logitsOf(expert: Expert, d: SplitData, mb: MicroBatch, text: Tensor | null): Tensor {
  const e = encodeBatch(expert, d, mb);
  if (expert.classHead) return expert.classHead.forward(e);
  return expert.textHead!.forward(e, text!);
}

/** Representation, class logits (or text logits against `text`; none for a text head without it) of every model of
 * a split, read back. */
export async function runExpert(expert: Expert, d: SplitData, text: Float32Array | null, microBytes = DEFAULTS.classes.microBytes): Promise<{ reps: Float32Array; logits: Float32Array; classes: number }> {
  const n = d.layer.count;
  const rep = expert.encoder.outDim;
  const textT = text && expert.textHead ? keep(tensor(text, [text.length / expert.spec.textDim!, expert.spec.textDim!])) : null;
  const classes = expert.classHead ? expert.spec.labels.length : textT ? textT.shape[0] : 0;
  const reps = new Float32Array(n * rep);
  const logits = new Float32Array(n * classes);
  const work = workBytesPerModel(d.layer, expert.spec.method, Number(expert.spec.encoder.probes ?? 0));
  for (const mb of d.layer.microBatches(Array.from({ length: n }, (_, i) => i), microBytes, work)) {
    const [e, l] = noGrad(() =>
      tidy(() => {
        const e = encodeBatch(expert, d, mb);
        const l = expert.classHead ? expert.classHead.forward(e) : textT ? expert.textHead!.forward(e, textT) : null;
        return [keep(e), l ? keep(l) : null] as const;
      }),
    );
    const ev = (await e.data()) as Float32Array;
    mb.global.forEach((g, k) => reps.set(ev.subarray(k * rep, (k + 1) * rep), g * rep));
    // A head-less expert (Dense) returns its representation as the logits: one tensor, read once.
    const lv = l === e ? ev : l ? ((await l.data()) as Float32Array) : null;
    e.dispose();
    if (l && l !== e) l.dispose();
    if (lv) {
      mb.global.forEach((g, k) => logits.set(lv.subarray(k * classes, (k + 1) * classes), g * classes));
    }
  }
  textT?.dispose();
  return { reps, logits, classes };
}

/** Per-label accuracy at probability 0.5 (logit 0) for multi-label; top-1 accuracy for single-label. */
export function score(logits: Float32Array, d: { targets: Float32Array; classIndex: Int32Array }, classes: number, task: 'multi-label' | 'single'): number {
  const n = logits.length / classes;
  if (task === 'multi-label') {
    let hit = 0;
    for (let i = 0; i < n * classes; i++) hit += Number(logits[i] > 0 === (d.targets[i] === 1));
    return hit / (n * classes);
  }
  let hit = 0;
  let counted = 0;
  for (let i = 0; i < n; i++) {
    if (d.classIndex[i] < 0) continue;
    const row = logits.subarray(i * classes, (i + 1) * classes);
    let best = 0;
    for (let c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
    hit += Number(best === d.classIndex[i]);
    counted++;
  }
  return counted ? hit / counted : 0;
}

export async function trainExpert(job: TrainJob): Promise<TrainResult> {
  const c: TrainConfig = { ...DEFAULTS[job.head], ...job.config };
  for (const k of ['epochs', 'batch', 'validateEvery'] as const) {
    if (!(Number.isInteger(c[k]) && c[k] > 0)) throw new Error(`train: ${k} must be a positive whole number, got ${c[k]}`);
  }
  if (!(c.lr > 0)) throw new Error(`train: learning rate must be positive, got ${c.lr}`);
  const log = job.log ?? (() => {});
  const t0 = performance.now();
  const expert = buildExpert(job, c);
  if (expert.encoder instanceof Dense && expert.spec.method === 'dense-z') expert.encoder.setStats(await layerStats(job.train));

  const single = expert.spec.task === 'single';
  const n = job.train.layer.count;
  // Models whose class is outside the label space (cannot happen for train, which defines it) would be skipped.
  const usable = Array.from({ length: n }, (_, i) => i).filter((i) => !single || job.train.classIndex[i] >= 0);
  const trainText = job.head === 'text' ? keep(tensor(textRows(job.text!, job.train.labels), [job.train.labels.length, job.text!.dim])) : null;
  const valText = trainText ? textRows(job.text!, job.train.labels) : null;
  const holdText = job.head === 'text' && job.valHoldout ? textRows(job.text!, job.valHoldout.classes) : null;
  const holdLabels = job.valHoldout ? labelIndex(job.valHoldout.data, job.valHoldout.classes) : null;

  const opt = new Adam(expert.parameters(), { lr: c.lr, weightDecay: c.weightDecay });
  const work = workBytesPerModel(job.train.layer, job.method, c.probes);
  const rand = seededRandom(mixSeed(c.seed, 0x7a1));
  const history: TrainResult['history'] = [];
  let best = { epoch: 0, score: -Infinity };
  let bestState: Map<string, Float32Array> | null = null;
  let zeroShot: TrainResult['zeroShot'] = null;

  // Each epoch's loss is summed on the GPU; the sums are read together at the next validation, so that between
  // validations nothing waits for the GPU and each step is submitted as soon as it is recorded.
  let unread: { entry: TrainResult['history'][number]; sum: Tensor | null; steps: number }[] = [];
  const running = new RunningSum();
  const readLosses = async (): Promise<void> => {
    const sums = unread.filter((u) => u.sum !== null);
    if (sums.length) {
      const all = tidy(() => keep(concat(sums.map((u) => reshape(u.sum!, [1])), 0)));
      const values = await all.data();
      all.dispose();
      sums.forEach((u, k) => (u.entry.loss = values[k] / u.steps));
    }
    for (const u of unread) u.sum?.dispose();
    unread = [];
  };

  for (let epoch = 1; epoch <= c.epochs; epoch++) {
    const order = permutation(usable.length, rand).map((k) => usable[k]);
    let steps = 0;
    for (let s = 0; s < order.length; s += c.batch) {
      const batch = order.slice(s, s + c.batch);
      opt.zeroGrad({ setToNone: true });
      for (const mb of job.train.layer.microBatches(batch, c.microBytes, work)) {
        tidy(() => {
          const logits = logitsOf(expert, job.train, mb, trainText);
          const loss = single ? crossEntropy(logits, tensor(mb.global.map((g) => job.train.classIndex[g]), [mb.global.length], 'i32')) : bceWithLogits(logits, targetRows(job.train, mb.global));
          // Each micro-batch's mean is weighted by its share, so the accumulated gradient is the batch mean's.
          const scaled = mul(loss, mb.global.length / batch.length);
          backward(scaled);
          running.add(scaled);
        });
      }
      opt.update();
      engine().flush();
      steps++;
    }
    const entry: TrainResult['history'][number] = { epoch, loss: NaN };
    unread.push({ entry, sum: running.take(), steps });
    if (epoch % c.validateEvery === 0 || epoch === c.epochs) {
      await readLosses();
      if (job.val) {
        const r = await runExpert(expert, job.val, valText, c.microBytes);
        entry.val = score(r.logits, job.val, r.classes, expert.spec.task);
        if (entry.val > best.score) {
          best = { epoch, score: entry.val };
          bestState = await expert.snapshot();
        }
      }
      if (holdText && job.valHoldout && holdLabels) {
        const r = await runExpert(expert, job.valHoldout.data, holdText, c.microBytes);
        entry.valHoldout = score(r.logits, { targets: new Float32Array(0), classIndex: holdLabels }, r.classes, 'single');
        if (!zeroShot || entry.valHoldout > zeroShot.score) zeroShot = { epoch, score: entry.valHoldout, state: await expert.snapshot() };
      }
      log(`    epoch ${epoch}/${c.epochs}: loss ${entry.loss.toFixed(4)}${entry.val !== undefined ? `, val ${(100 * entry.val).toFixed(1)}%` : ''}${entry.valHoldout !== undefined ? `, val_holdout ${(100 * entry.valHoldout).toFixed(1)}%` : ''}`);
    }
    history.push(entry);
  }
  if (bestState) expert.restore(bestState);
  else best = { epoch: c.epochs, score: NaN };
  opt.dispose();
  trainText?.dispose();
  return { expert, best, zeroShot, history, seconds: (performance.now() - t0) / 1000, parameters: expert.parameterCount() };
}

function labelIndex(d: SplitData, classes: readonly string[]): Int32Array {
  const at = new Map(classes.map((c, i) => [c, i]));
  return Int32Array.from(d.samples.map((s) => at.get(s.classes[0]) ?? -1));
}

function targetRows(d: SplitData, global: Int32Array): Tensor {
  const k = d.labels.length;
  const out = new Float32Array(global.length * k);
  global.forEach((g, i) => out.set(d.targets.subarray(g * k, (g + 1) * k), i * k));
  return tensor(out, [global.length, k]);
}
