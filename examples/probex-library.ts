// Example: ProbeX as a library (src/probex/api.ts) on a built zoo. Route a test model to its tree, train one ProbeX
// expert on one tree's training models and score it on its test models, predict one model's fine-tuning classes and,
// where the zoo has prompt embeddings and held-out classes (the LoRA tree), train the text-aligned head and search
// the held-out models by text: a one-expert, one-seed version of what `probex train` / `eval` do for every tree.
// Run: npm run example:probex -- --zoo DIR [--trees a,b (default: all)] [--tree lora-autoencoder] [--epochs 100] [--query TEXT] [--json]
import { parseArgs } from 'node:util';
import { joinNegativeValues, runIfMain } from '../src/cli/args.ts';
import { existsSync } from 'node:fs';
import { initNode } from '../src/node/index.ts';
import {
  Router,
  USE_LITE_NAME,
  bySplit,
  defaultLayer,
  disposeSplit,
  labelRows,
  loadClassEmbeddings,
  loadSplitData,
  meanAveragePrecision,
  perLabelAccuracy,
  route,
  runOnFiles,
  search,
  textEmbeddingsPath,
  topKAccuracy,
  trainExpert,
  treeLayers,
  textRows,
  zooSamples,
  type Expert,
  type SplitData,
} from '../src/probex/api.ts';

export interface LibraryExampleResult {
  tree: string;
  layer: string;
  shape: [number, number];
  routing: { model: string; tree: string; by: string };
  classes: { task: 'multi-label' | 'single'; bestVal: number; test: Record<string, number>; parameters: number; seconds: number };
  prediction: { model: string; truth: string[]; top: { name: string; p: number }[] };
  text: { zeroShotTop1: number; chance: number; query: string; hits: { model: string; classes: string[]; score: number }[] } | null;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function softmax(row: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(row));
  const e = Array.from(row, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Everything above on the current engine (start it with initNode() first). GPU data and experts are freed on the
 * way out, errors included: the pattern to copy. */
export async function libraryExample(o: { zoo: string; trees?: string[]; tree?: string; epochs?: number; query?: string; log?: (s: string) => void }): Promise<LibraryExampleResult> {
  const log = o.log ?? (() => {});
  if (o.trees && o.trees.length === 0) throw new Error('--trees: name at least one tree');
  const trees = zooSamples(o.zoo, o.trees); // the zoo's trees (all, or those named): models, splits, labels, base
  const want = o.tree ?? 'lora-autoencoder';
  const t = trees.find((x) => x.tree === want) ?? (o.tree ? undefined : trees[0]);
  if (!t) throw new Error(`--tree: no tree "${o.tree}" among ${o.trees ? '--trees' : 'the zoo\'s'} ${trees.map((x) => x.tree).join(', ')}`);
  const test = bySplit(t, 'test');
  if (test.length === 0) throw new Error(`tree "${t.tree}" has no test models`);
  const epochs = o.epochs ?? 100;

  // 1. Routing: by tensor names and shapes, then by weight distance to each tree's base.
  const routed = route(Router.fromTrees(trees), test[0].path);
  log(`routing: test model ${test[0].id} of ${t.tree} -> ${routed.tree} (by ${routed.by})`);

  const owned: { dispose(): void }[] = []; // what this function put on the GPU, freed in `finally`
  const own = <T extends SplitData | Expert>(x: T): T => {
    owned.push('dispose' in x ? x : { dispose: () => disposeSplit(x) });
    return x;
  };
  try {
    // 2. One expert: the tree's default layer (the largest matrix after the input layer), read once onto the GPU.
    const layer = defaultLayer(treeLayers(t));
    const train = own(loadSplitData(bySplit(t, 'train'), layer.name, t.labels));
    const val = own(loadSplitData(bySplit(t, 'val'), layer.name, t.labels));
    const classes = await trainExpert({ method: 'probex', head: 'classes', task: t.task, tree: t.tree, train, val, config: { epochs, validateEvery: Math.max(1, Math.floor(epochs / 4)) } });
    own(classes.expert);
    log(`ProbeX on ${layer.name} [${layer.shape.join(' x ')}]: best validation ${classes.best.score.toFixed(3)} at epoch ${classes.best.epoch}, ${classes.parameters} parameters, ${classes.seconds.toFixed(1)} s`);

    // 3. Its scores on the test models (each file read for that one layer), and one model's predicted classes.
    const { logits } = await runOnFiles(classes.expert, test.map((m) => m.path));
    const { targets, classIndex } = labelRows(test, t.labels);
    const [n, c] = [test.length, t.labels.length];
    const scores: Record<string, number> =
      t.task === 'multi-label'
        ? { perLabelAccuracy: perLabelAccuracy(logits.map(sigmoid), targets, n, c), mAP: meanAveragePrecision(logits, targets, n, c) }
        : { top1: topKAccuracy(logits, classIndex, n, c, 1), ...(c >= 5 ? { top5: topKAccuracy(logits, classIndex, n, c, 5) } : {}) };
    log(`test (${n} models): ${Object.entries(scores).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    const row = logits.subarray(0, c);
    const probs = t.task === 'multi-label' ? Array.from(row, sigmoid) : softmax(row);
    const top = t.labels.map((name, i) => ({ name, p: probs[i] })).sort((a, b) => b.p - a.p).slice(0, Math.min(5, test[0].classes.length + 2));
    log(`model ${test[0].id}: trained on ${test[0].classes.join(', ')}; predicted ${top.map((x) => `${x.name} ${x.p.toFixed(2)}`).join(', ')}`);

    // 4. Text: map prompt embeddings into the expert's space; zero-shot on held-out classes and search by text.
    let text: LibraryExampleResult['text'] = null;
    const embeddingsFile = textEmbeddingsPath(o.zoo, USE_LITE_NAME);
    const holdout = bySplit(t, 'test_holdout');
    if (t.task === 'single' && holdout.length > 0 && t.heldout.length > 1 && existsSync(embeddingsFile)) {
      const prompts = loadClassEmbeddings(embeddingsFile); // "a drawing of a {class}" for every class, precomputed
      const valHoldout = bySplit(t, 'val_holdout');
      const aligned = await trainExpert({
        method: 'probex',
        head: 'text',
        task: 'single',
        tree: t.tree,
        train,
        val,
        text: prompts,
        valHoldout: valHoldout.length ? { data: own(loadSplitData(valHoldout, layer.name, t.heldout)), classes: t.heldout } : null,
        config: { epochs, validateEvery: Math.max(1, Math.floor(epochs / 10)) },
      });
      own(aligned.expert);
      if (aligned.zeroShot) aligned.expert.restore(aligned.zeroShot.state); // the checkpoint best on held-out validation
      const { logits: zs } = await runOnFiles(aligned.expert, holdout.map((m) => m.path), textRows(prompts, t.heldout));
      const truth = labelRows(holdout, t.heldout).classIndex;
      const zeroShotTop1 = topKAccuracy(zs, truth, holdout.length, t.heldout.length, 1);
      log(`zero-shot over ${t.heldout.length} held-out classes (${holdout.length} models): top-1 ${zeroShotTop1.toFixed(3)} (chance ${(1 / t.heldout.length).toFixed(3)})`);

      // The stored prompt of a held-out class that has test models, unless a query is given (then embedded here).
      const target = t.heldout.find((name) => holdout.some((m) => m.classes.includes(name))) ?? t.heldout[0];
      let query = prompts.promptTemplate.replace('{class}', target);
      let q = textRows(prompts, [target]);
      if (o.query) {
        const { loadUseLite } = await import('../src/probex/text/use-lite.ts'); // TF.js on WASM: loaded only when asked
        const encoder = await loadUseLite();
        try {
          q = await encoder.embed([o.query]);
        } finally {
          encoder.dispose();
        }
        query = o.query;
      }
      const hits = (await search(aligned.expert, q, holdout.map((m) => m.path), 5)).map((h) => ({ model: holdout[h.index].id, classes: holdout[h.index].classes, score: h.score }));
      log(`search "${query}" among the held-out test models: ${hits.map((h) => `${h.model} (${h.classes.join(', ')}) ${h.score.toFixed(2)}`).join('; ')}`);
      text = { zeroShotTop1, chance: 1 / t.heldout.length, query, hits };
    }
    return {
      tree: t.tree,
      layer: layer.name,
      shape: layer.shape,
      routing: { model: test[0].id, tree: routed.tree, by: routed.by },
      classes: { task: t.task, bestVal: classes.best.score, test: scores, parameters: classes.parameters, seconds: classes.seconds },
      prediction: { model: test[0].id, truth: test[0].classes, top },
      text,
    };
  } finally {
    for (const x of owned.reverse()) x.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: joinNegativeValues(process.argv.slice(2)),
    options: {
      zoo: { type: 'string' },
      tree: { type: 'string' },
      trees: { type: 'string' },
      epochs: { type: 'string' },
      query: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.zoo) {
    console.log('usage: npm run example:probex -- --zoo DIR [--trees a,b,...] [--tree lora-autoencoder] [--epochs 100] [--query TEXT] [--json]\n' +
      '       (a zoo: npm run probex -- zoo build --preset tiny --out DIR)');
    if (!values.help) process.exitCode = 1;
    return;
  }
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0)) throw new Error(`--epochs must be a positive whole number, got "${values.epochs}"`);
  if (!existsSync(values.zoo)) throw new Error(`--zoo ${values.zoo}: no such folder`);
  const engine = await initNode();
  try {
    const r = await libraryExample({ zoo: values.zoo, trees: values.trees?.split(',').map((x) => x.trim()).filter(Boolean), tree: values.tree, epochs, query: values.query, log: values.json ? undefined : (s) => console.log(s) });
    if (values.json) console.log(JSON.stringify(r));
  } finally {
    engine.destroy();
  }
}

runIfMain(import.meta.url, main);
