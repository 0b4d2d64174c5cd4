// The QuickDraw MLP of the examples: model, training step, accuracy and the training loop on drawings already in
// memory. Engine-only (src/core, no Node APIs), so the Node example and the browser page train the very same way.
import {
  Adam,
  Linear,
  Module,
  Optimizer,
  Tensor,
  argmax,
  backward,
  crossEntropy,
  engine,
  gather,
  noGrad,
  relu,
  slice,
  softmax,
  tensor,
  tidy,
  type DeviceInfo,
} from '../../src/core/index.ts';
import { QUICKDRAW_PIXELS } from '../../src/datasets/quickdraw-format.ts';
import { mixSeed, packRows, permutation, seededRandom, splitPerClass } from '../../src/datasets/split.ts';

/** Ten classes with distinct shapes; fixed so that runs are comparable. */
export const DEFAULT_CLASSES: readonly string[] = ['apple', 'banana', 'bicycle', 'cat', 'clock', 'fish', 'house', 'star', 'tree', 'umbrella'];

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(inputs: number, hidden: number, outputs: number, seed: number) {
    super();
    this.fc1 = new Linear(inputs, hidden, { seed: mixSeed(seed, 1) });
    this.fc2 = new Linear(hidden, outputs, { seed: mixSeed(seed, 2) });
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(relu(this.fc1.forward(x)));
  }
}

/** The split, uploaded once: images as f32 [n, 784] and labels as i32 [n]; the labels and held-out rows are also kept on the host. */
export interface QuickdrawData {
  classes: string[];
  trainX: Tensor;
  trainY: Tensor;
  testX: Tensor;
  testLabels: Int32Array;
  trainLabels: Int32Array;
  /** The held-out drawings, row i labelled testLabels[i]. */
  testRows: Float32Array[];
  dispose(): void;
}

export interface SplitConfig {
  trainPerClass: number;
  testPerClass: number;
  seed: number;
}

/** Split each class's drawings (index = label) with the seed and upload both sets (needs a started engine). */
export function uploadSplit(classes: readonly string[], perClass: readonly (readonly Float32Array[])[], opts: SplitConfig): QuickdrawData {
  if (perClass.length !== classes.length) throw new Error(`uploadSplit: ${perClass.length} lists of drawings for ${classes.length} classes`);
  const { train, test } = splitPerClass(perClass, { train: opts.trainPerClass, test: opts.testPerClass, seed: opts.seed });
  const trainLabels = Int32Array.from(train.labels);
  const testLabels = Int32Array.from(test.labels);
  const trainX = tensor(packRows(train.items, QUICKDRAW_PIXELS), [train.items.length, QUICKDRAW_PIXELS]);
  const trainY = tensor(trainLabels, [trainLabels.length], 'i32');
  const testX = tensor(packRows(test.items, QUICKDRAW_PIXELS), [test.items.length, QUICKDRAW_PIXELS]);
  return {
    classes: [...classes],
    trainX,
    trainY,
    testX,
    trainLabels,
    testLabels,
    testRows: [...test.items],
    dispose() {
      for (const t of [trainX, trainY, testX]) t.dispose();
    },
  };
}

/**
 * One training step on the rows of (x, y) picked by `index` (i32 [b]): gather the minibatch on the GPU, forward,
 * backward, update. Everything it creates is freed, except the loss when `wantLoss` is set (the caller reads and
 * disposes it). Nothing is read back here.
 */
export function trainStep(model: Mlp, opt: Optimizer, x: Tensor, y: Tensor, index: Tensor, wantLoss: boolean): Tensor | null {
  return tidy(() => {
    opt.zeroGrad({ setToNone: true }); // drop last step's gradients: backward hands its own over
    const xb = gather(x, index);
    const yb = gather(y, index);
    const loss = crossEntropy(model.forward(xb), yb);
    backward(loss);
    opt.update();
    return wantLoss ? loss : null;
  });
}

/** Fraction of rows of x whose argmax logit matches the label (one readback). */
export async function accuracy(model: Mlp, x: Tensor, labels: Int32Array): Promise<number> {
  const pred = tidy(() => noGrad(() => argmax(model.forward(x), -1)));
  try {
    const p = await pred.data();
    let right = 0;
    for (let i = 0; i < labels.length; i++) if (p[i] === labels[i]) right++;
    return right / labels.length;
  } finally {
    pred.dispose();
  }
}

/** Class probabilities (softmax of the logits) for each drawing of `rows`, each 784 values in [0, 1]: one upload, one readback. */
export async function classify(model: Mlp, rows: readonly Float32Array[]): Promise<Float32Array[]> {
  if (rows.length === 0) return [];
  for (const [i, r] of rows.entries()) {
    if (r.length !== QUICKDRAW_PIXELS) throw new Error(`classify: drawing ${i} has ${r.length} values, expected ${QUICKDRAW_PIXELS}`);
  }
  const probs = tidy(() => noGrad(() => softmax(model.forward(tensor(packRows(rows, QUICKDRAW_PIXELS), [rows.length, QUICKDRAW_PIXELS])), -1)));
  try {
    const flat = await probs.data();
    const k = probs.shape[1];
    return rows.map((_, i) => Float32Array.from(flat.subarray(i * k, (i + 1) * k)));
  } finally {
    probs.dispose();
  }
}

export interface TrainOptions {
  classes?: readonly string[];
  epochs?: number;
  lr?: number;
  batch?: number;
  seed?: number;
  hidden?: number;
  trainPerClass?: number;
  testPerClass?: number;
  /** Read the loss back every this many steps (and at the last step of each epoch). */
  readEvery?: number;
  /** Called after each epoch with its mean read-back loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Called after each step (1-based), once its tensors are freed and its loss, if requested, has been read. */
  onStep?: (step: number, lossRead: boolean) => void;
}

export type TrainConfig = Required<Omit<TrainOptions, 'classes' | 'onEpoch' | 'onStep'>>;

export interface TrainResult {
  adapter: Pick<DeviceInfo, 'vendor' | 'architecture' | 'device' | 'description' | 'isSoftware'>;
  classes: string[];
  config: TrainConfig;
  steps: number;
  /** Every loss read back, with its (1-based) step. */
  losses: { step: number; epoch: number; loss: number }[];
  /** Mean of the losses read in each epoch. */
  epochLosses: number[];
  trainAccuracy: number;
  testAccuracy: number;
  timeMs: { load: number; train: number; total: number };
}

/** A number typed by a user (a flag, a form field, an address parameter); anything else is refused naming `where`. */
export function numberFrom(where: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`${where}: expected a number, got "${raw}"`);
  return v;
}

/** The widest hidden layer the examples accept. */
export const MAX_HIDDEN = 16384;

/** The options with their defaults, checked: a bad value throws naming the option. */
export function trainConfig(opts: TrainOptions): { config: TrainConfig; classes: string[] } {
  const config: TrainConfig = {
    epochs: opts.epochs ?? 20,
    lr: opts.lr ?? 1e-3,
    batch: opts.batch ?? 32,
    seed: opts.seed ?? 0,
    hidden: opts.hidden ?? 256,
    trainPerClass: opts.trainPerClass ?? 80,
    testPerClass: opts.testPerClass ?? 20,
    readEvery: opts.readEvery ?? 5,
  };
  const classes = [...(opts.classes ?? DEFAULT_CLASSES)];
  for (const [k, v] of Object.entries(config)) {
    const ok = k === 'lr' ? Number.isFinite(v) && v > 0 : k === 'seed' ? Number.isSafeInteger(v) && v >= 0 : Number.isInteger(v) && v > 0;
    if (!ok) throw new Error(`mlp training: ${k} must be ${k === 'lr' ? 'a number > 0' : k === 'seed' ? 'an integer >= 0' : 'a positive integer'}, got ${v}`);
  }
  // 784 x hidden floats must fit one storage binding (128 MiB on lavapipe): far above any hidden size worth trying.
  if (config.hidden > MAX_HIDDEN) throw new Error(`mlp training: hidden must be at most ${MAX_HIDDEN}, got ${config.hidden}`);
  if (classes.length < 2) throw new Error(`mlp training: need at least 2 classes, got ${classes.length}`);
  if (new Set(classes).size !== classes.length) throw new Error(`mlp training: class list has duplicates: ${classes.join(', ')}`);
  return { config, classes };
}

/** A trained model with its data; the caller disposes both (`dispose()` does). */
export interface TrainedMlp {
  result: TrainResult;
  model: Mlp;
  data: QuickdrawData;
  dispose(): void;
}

/**
 * Train and evaluate on the current engine, from each class's drawings (index = label, in `opts.classes` order) and
 * the milliseconds it took to load them (for the result's timings).
 */
export async function trainMlp(perClass: readonly (readonly Float32Array[])[], opts: TrainOptions, loadMs = 0): Promise<TrainedMlp> {
  const { config, classes } = trainConfig(opts);
  const t0 = performance.now();
  let data: QuickdrawData | null = null;
  let model: Mlp | null = null;
  let opt: Adam | null = null;
  let done = false;
  try {
    const d = (data = uploadSplit(classes, perClass, config));
    const m = (model = new Mlp(QUICKDRAW_PIXELS, config.hidden, classes.length, config.seed));
    const o = (opt = new Adam(m.parameters(), { lr: config.lr }));
    const t1 = performance.now();
    const losses: TrainResult['losses'] = [];
    const epochLosses: number[] = [];
    const rand = seededRandom(mixSeed(config.seed, 0x5eed));
    const n = d.trainLabels.length;
    let step = 0;
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      // One upload per epoch: the shuffled order; each step gathers its rows on the GPU through a slice of it.
      const perm = tensor(Int32Array.from(permutation(n, rand)), [n], 'i32');
      const read: number[] = [];
      try {
        for (let start = 0; start < n; start += config.batch) {
          const end = Math.min(n, start + config.batch);
          step++;
          const want = step % config.readEvery === 0 || end === n;
          const loss = tidy(() => trainStep(m, o, d.trainX, d.trainY, slice(perm, [start], [end]), want));
          if (loss) {
            const value = await loss.item();
            loss.dispose();
            losses.push({ step, epoch, loss: value });
            read.push(value);
          }
          opts.onStep?.(step, loss !== null);
        }
      } finally {
        perm.dispose();
      }
      const mean = read.reduce((a, b) => a + b, 0) / read.length;
      epochLosses.push(mean);
      opts.onEpoch?.(epoch, mean);
    }
    const t2 = performance.now();
    const trainAccuracy = await accuracy(m, d.trainX, d.trainLabels);
    const testAccuracy = await accuracy(m, d.testX, d.testLabels);
    const t3 = performance.now();
    const { vendor, architecture, device, description, isSoftware } = engine().info;
    done = true;
    return {
      result: {
        adapter: { vendor, architecture, device, description, isSoftware },
        classes,
        config,
        steps: step,
        losses,
        epochLosses,
        trainAccuracy,
        testAccuracy,
        timeMs: { load: loadMs + (t1 - t0), train: t2 - t1, total: loadMs + (t3 - t0) },
      },
      model: m,
      data: d,
      dispose() {
        m.dispose();
        d.dispose();
      },
    };
  } finally {
    opt?.dispose();
    if (!done) {
      model?.dispose();
      data?.dispose();
    }
  }
}
