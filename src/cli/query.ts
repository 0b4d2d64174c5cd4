// `probex predict` (which tree a model file belongs to, its likeliest fine-tuning classes, the nearest class prompts)
// and `probex search` (the models of a run's zoo that best match a free-text query), with seed 0's experts.
import { parseArgs } from 'node:util';
import { startEngine } from './engine.ts';
import { Expert } from '../probex/expert.ts';
import { embedModel, embedText, runOnFiles, search } from '../probex/api.ts';
import { Router } from '../probex/routing/router.ts';
import { compareSignatures, parseSignature, signature } from '../probex/routing/signature.ts';
import { zooSamples, type TreeSamples } from '../probex/data/samples.ts';
import { readManifest } from '../probex/zoo/manifest.ts';
import { resolve } from 'node:path';
import { loadRunExpert, readRun, type RunManifest, type TreeRun } from '../probex/run.ts';
import { loadUseLite } from '../probex/text/use-lite.ts';
import { textRows } from '../probex/train.ts';
import { SOURCE_OPTIONS, runSource, positiveNumber, resolveText, resolveTrees } from './source.ts';

function treeRun(run: RunManifest, tree: string): TreeRun {
  const t = run.seeds[0]?.trees.find((r) => r.tree === tree);
  if (!t) throw new Error(`the run has no experts for tree "${tree}"`);
  return t;
}

export interface Prediction {
  file: string;
  tree: string;
  /** How the tree was chosen; 'only-tree' when the run has one tree (the file's tensors were checked against it). */
  routedBy: 'signature' | 'distance' | 'only-tree';
  distances?: Record<string, number>;
  layer: string;
  /** Likeliest fine-tuning classes (sigmoid per class for multi-label trees, softmax for single-class trees). */
  classes?: { class: string; probability: number }[];
  /** Nearest class prompts under the text-aligned expert (seen and held-out classes). */
  prompts?: { class: string; heldout: boolean; cosine: number }[];
  /** The file is one of the zoo's own: its tree, split ('base' for a base) and recorded classes. A train or val model
   * was seen in training (seed 0's split), so its prediction is not a held-out one. */
  known?: { tree: string; split: string; classes: string[] };
}

/** Every tree of a zoo that has models (routing considers them all, not only those the run trained). */
function builtTrees(zoo: string): TreeSamples[] {
  const m = readManifest(zoo);
  const names = m ? Object.entries(m.trees).filter(([, t]) => t.models.length > 0).map(([n]) => n) : [];
  return zooSamples(zoo, names, () => {});
}

/** With one tree nothing is routed, but a file of another architecture must not be scored as if it were the tree's. */
function onlyTree(t: TreeSamples, file: string): { tree: string; by: 'only-tree'; distances?: undefined } {
  const want = signature(t.models[0].path);
  const have = signature(file);
  if (have !== want) {
    const c = compareSignatures(parseSignature(have), parseSignature(want));
    throw new Error(`${file}: its tensors are not those of tree "${t.tree}", the run's only tree (${c.diff})`);
  }
  return { tree: t.tree, by: 'only-tree' };
}

export async function predictCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...SOURCE_OPTIONS, run: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals.length === 0) throw new Error('predict takes model files (FILE.safetensors ...)');
  if (!values.run) throw new Error('predict needs --run RUN');
  const top = positiveNumber('top', values.top, true) ?? 5;
  const run = readRun(values.run);
  const src = runSource(values, run, values.run);
  const { trees } = resolveTrees(src);
  const text = resolveText(src);
  const engine = await startEngine();
  // Route among all of the zoo's trees: a model of a tree the run did not train must not be scored by another's expert.
  const zooTrees = src.zoo ? builtTrees(src.zoo) : trees;
  const router = zooTrees.length > 1 ? Router.fromTrees(zooTrees) : null;
  const known = new Map<string, NonNullable<Prediction['known']>>();
  for (const t of zooTrees) {
    for (const m of t.models) known.set(resolve(m.path), { tree: t.tree, split: m.split, classes: m.classes });
    if (t.base) known.set(resolve(t.base), { tree: t.tree, split: 'base', classes: [] });
  }
  const experts = new Map<string, Expert>();
  const expertFor = (file: string): Expert => {
    let e = experts.get(file);
    if (!e) experts.set(file, (e = loadRunExpert(values.run!, file)));
    return e;
  };
  const predictions: Prediction[] = [];
  for (const file of positionals) {
    const routed = router ? router.route(file) : onlyTree(trees[0], file);
    if (!trees.some((t) => t.tree === routed.tree)) {
      throw new Error(`${file}: its weights place it in tree "${routed.tree}" of the zoo (by ${routed.by}), which this run has no experts for (it trained ${trees.map((t) => t.tree).join(', ')})`);
    }
    const tr = treeRun(run, routed.tree);
    const result: Prediction = { file, tree: routed.tree, routedBy: routed.by, distances: routed.distances, layer: tr.layer, known: known.get(resolve(file)) };
    const cls = tr.experts.find((e) => e.method === 'probex' && e.head === 'classes');
    if (cls) {
      const expert = expertFor(cls.file);
      const { logits } = await runOnFiles(expert, [file]);
      const probs = expert.spec.task === 'single' ? softmax(logits) : logits.map((v) => 1 / (1 + Math.exp(-v)));
      result.classes = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, top).map((i) => ({ class: tr.labels[i], probability: probs[i] }));
    }
    const txt = tr.experts.find((e) => e.method === 'probex' && e.head === 'text');
    if (txt && text) {
      const expert = expertFor(txt.zeroShotFile ?? txt.file);
      const classes = [...tr.labels, ...tr.heldout];
      const z = await embedText(expert, textRows(text, classes));
      const m = await embedModel(expert, file);
      const d = m.length;
      const sims = classes.map((c, i) => ({ class: c, heldout: i >= tr.labels.length, cosine: z.subarray(i * d, (i + 1) * d).reduce((s, v, j) => s + v * m[j], 0) }));
      result.prompts = sims.sort((a, b) => b.cosine - a.cosine).slice(0, top);
    }
    predictions.push(result);
    if (!values.json) {
      console.log(`${file}: tree ${result.tree} (by ${result.routedBy}), layer ${result.layer}`);
      const k = result.known;
      if (k) {
        const seen = k.split === 'train' || k.split === 'val';
        console.log(`  the zoo's ${k.split === 'base' ? 'base model' : `${k.split} model, trained on: ${k.classes.join(', ')}`}${seen ? ' (seen in training: not a held-out prediction)' : ''}`);
      }
      for (const c of result.classes ?? []) console.log(`  ${c.class.padEnd(24)} ${(100 * c.probability).toFixed(1)}%${tr.task === 'multi-label' && c.probability >= 0.5 ? '  (predicted)' : ''}`);
      if (result.prompts) {
        console.log('  nearest class prompts:');
        for (const p of result.prompts) console.log(`    ${p.class.padEnd(22)} cosine ${p.cosine.toFixed(3)}${p.heldout ? ' (held out)' : ''}`);
      }
    }
  }
  for (const e of experts.values()) e.dispose();
  engine.destroy();
  if (values.json) console.log(JSON.stringify({ predictions }));
}

function softmax(x: Float32Array): Float32Array {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export async function searchCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...SOURCE_OPTIONS, run: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1 || !positionals[0].trim()) throw new Error('search takes one quoted text, e.g. probex search "a drawing of a cat" --run RUN');
  if (!values.run) throw new Error('search needs --run RUN');
  const top = positiveNumber('top', values.top, true) ?? 10;
  const run = readRun(values.run);
  const src = runSource(values, run, values.run);
  const { trees } = resolveTrees(src);
  const withText = (run.seeds[0]?.trees ?? []).filter((t) => t.experts.some((e) => e.method === 'probex' && e.head === 'text'));
  if (withText.length === 0) throw new Error(`${values.run}: no text-aligned ProbeX expert (train one on a tree of single-class models with text embeddings)`);
  const encoder = await loadUseLite();
  const query = await encoder.embed([positionals[0]]);
  const engine = await startEngine();
  const hits: { tree: string; id: string; split: string; classes: string[]; path: string; cosine: number }[] = [];
  for (const tr of withText) {
    const rec = tr.experts.find((e) => e.method === 'probex' && e.head === 'text')!;
    const expert = loadRunExpert(values.run, rec.file);
    if (expert.spec.textEncoder && expert.spec.textEncoder !== encoder.name) throw new Error(`expert of "${tr.tree}" was trained on ${expert.spec.textEncoder} embeddings; the query was embedded with ${encoder.name}`);
    const t = trees.find((x) => x.tree === tr.tree);
    if (!t) continue;
    const found = await search(expert, query, t.models.map((m) => m.path), top);
    for (const h of found) {
      const m = t.models[h.index];
      hits.push({ tree: t.tree, id: m.id, split: m.split, classes: m.classes, path: m.path, cosine: h.score });
    }
    expert.dispose();
  }
  encoder.dispose();
  engine.destroy();
  const best = hits.sort((a, b) => b.cosine - a.cosine).slice(0, top);
  if (values.json) console.log(JSON.stringify({ query: positionals[0], hits: best }));
  else {
    console.log(`models matching "${positionals[0]}":`);
    for (const h of best) console.log(`  ${h.cosine.toFixed(3)}  ${h.tree}/${h.split}/${h.id}  (${h.classes.join(', ')})`);
  }
}
