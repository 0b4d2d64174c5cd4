// examples/probex-library.ts, ProbeX through the library API (src/probex/api.ts), on tiny-preset trees built here:
// routing, one expert's test scores and prediction, the text head's zero-shot and search; and its CLI's errors.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { initNode, type Engine } from '../src/node/index.ts';
import { buildZoo } from '../src/probex/zoo/build.ts';
import { USE_LITE_NAME, bySplit, defaultLayer, disposeSplit, embedModels, embedText, loadClassEmbeddings, loadSplitData, runOnFiles, textEmbeddingsPath, textRows, trainExpert, treeLayers, zooSamples } from '../src/probex/api.ts';
import { libraryExample } from '../examples/probex-library.ts';

const TREES = ['lora-autoencoder', 'mlp-quickdraw', 'mlp-quickdraw-seed2'];
const zoo = mkdtempSync(join(tmpdir(), 'probex-library-'));
let engine: Engine;

beforeAll(async () => {
  engine = await initNode();
  await buildZoo({ preset: 'tiny', out: zoo, trees: TREES });
}, 600_000);

afterAll(() => {
  engine?.destroy();
  rmSync(zoo, { recursive: true, force: true });
});

describe('examples/probex-library.ts', () => {
  it('routes, trains, scores, predicts and searches through the library API, and frees what it used', async () => {
    const before = engine.memory.bytesInUse;
    const r = await libraryExample({ zoo, trees: TREES, epochs: 60 });
    expect(engine.memory.bytesInUse).toBe(before);
    const t = zooSamples(zoo, TREES).find((x) => x.tree === 'lora-autoencoder')!;
    expect(r.tree).toBe('lora-autoencoder');
    expect(r.layer).toMatch(/\.lora$/);
    expect(r.routing).toEqual({ model: bySplit(t, 'test')[0].id, tree: 'lora-autoencoder', by: 'signature' });
    // Learning on the tiny LoRA tree (the tiny classifier trees carry no signal): top-1 well above chance.
    expect(r.classes.task).toBe('single');
    expect(r.classes.test.top1).toBeGreaterThanOrEqual(3 / t.labels.length);
    expect(r.classes.parameters).toBeGreaterThan(0);
    expect(r.prediction.truth).toHaveLength(1);
    const ps = r.prediction.top.map((x) => x.p);
    expect(ps.every((p, i) => p > 0 && p <= 1 && (i === 0 || p <= ps[i - 1]))).toBe(true);
    // The text head: a zero-shot score over the held-out classes, and search hits among held-out test models.
    expect(r.text).not.toBeNull();
    const text = r.text!;
    expect(text.chance).toBeCloseTo(1 / t.heldout.length, 12);
    expect(text.zeroShotTop1).toBeGreaterThanOrEqual(0);
    expect(text.zeroShotTop1).toBeLessThanOrEqual(1);
    expect(text.query).toMatch(/^a drawing of a /);
    const holdoutIds = new Set(bySplit(t, 'test_holdout').map((m) => m.id));
    expect(text.hits).toHaveLength(Math.min(5, holdoutIds.size));
    expect(text.hits.every((h, i) => holdoutIds.has(h.model) && Math.abs(h.score) <= 1 + 1e-5 && (i === 0 || h.score <= text.hits[i - 1].score))).toBe(true);
  });

  it('routes a classifier tree by distance and scores it per label', async () => {
    const r = await libraryExample({ zoo, trees: TREES, tree: 'mlp-quickdraw-seed2', epochs: 5 });
    expect(r.routing.tree).toBe('mlp-quickdraw-seed2');
    expect(r.routing.by).toBe('distance'); // same shapes as mlp-quickdraw: only the weights tell them apart
    expect(r.classes.task).toBe('multi-label');
    expect(Object.keys(r.classes.test).sort()).toEqual(['mAP', 'perLabelAccuracy']);
    expect(r.text).toBeNull();
  });

  it('scores a text head against prompt rows: the cosines of embedModels and embedText', async () => {
    const t = zooSamples(zoo, TREES).find((x) => x.tree === 'lora-autoencoder')!;
    const layer = defaultLayer(treeLayers(t)).name;
    const prompts = loadClassEmbeddings(textEmbeddingsPath(zoo, USE_LITE_NAME));
    const train = loadSplitData(bySplit(t, 'train'), layer, t.labels);
    const r = await trainExpert({ method: 'probex', head: 'text', task: 'single', tree: t.tree, train, val: null, text: prompts, config: { epochs: 3 } });
    disposeSplit(train);
    try {
      const paths = bySplit(t, 'test_holdout').map((m) => m.path);
      const rows = textRows(prompts, t.heldout);
      const { logits, reps } = await runOnFiles(r.expert, paths, rows);
      expect(logits).toHaveLength(paths.length * t.heldout.length);
      expect(reps).toHaveLength(paths.length * r.expert.encoder.outDim);
      // No learned scale by default: the logits are cosines between unit model and class vectors.
      const models = await embedModels(r.expert, paths);
      const texts = await embedText(r.expert, rows);
      const dim = r.expert.encoder.outDim;
      for (let i = 0; i < paths.length; i++) {
        for (let k = 0; k < t.heldout.length; k++) {
          let cos = 0;
          for (let j = 0; j < dim; j++) cos += models[i * dim + j] * texts[k * dim + j];
          expect(logits[i * t.heldout.length + k]).toBeCloseTo(cos, 4);
        }
      }
      await expect(runOnFiles(r.expert, paths, rows.subarray(0, prompts.dim + 1))).rejects.toThrow(/values are not rows of 512/);
      expect(() => textRows(prompts, ['no such class'])).toThrow(/no entry for class "no such class"/);
    } finally {
      r.expert.dispose();
    }
    const mlp = zooSamples(zoo, TREES).find((x) => x.tree === 'mlp-quickdraw')!;
    const ml = loadSplitData(bySplit(mlp, 'train'), defaultLayer(treeLayers(mlp)).name, mlp.labels);
    const classes = await trainExpert({ method: 'probex', head: 'classes', task: 'multi-label', tree: mlp.tree, train: ml, val: null, config: { epochs: 1 } });
    disposeSplit(ml);
    await expect(runOnFiles(classes.expert, [bySplit(mlp, 'test')[0].path], new Float32Array(512))).rejects.toThrow(/has no text-aligned head/);
    classes.expert.dispose();
  });

  it('refuses a tree the zoo lacks, and a bad --epochs, by name, leaking nothing', async () => {
    await expect(libraryExample({ zoo, trees: TREES, tree: 'nope' })).rejects.toThrow(/no tree "nope" among --trees lora-autoencoder, mlp-quickdraw, mlp-quickdraw-seed2/);
    await expect(libraryExample({ zoo, trees: [], tree: 'nope' })).rejects.toThrow(/--trees: name at least one tree/);
    const before = engine.memory.bytesInUse;
    await expect(libraryExample({ zoo, trees: TREES, epochs: 0 })).rejects.toThrow(/epochs/);
    expect(engine.memory.bytesInUse).toBe(before);
    const run = (args: string[]): string => {
      try {
        return execFileSync('npx', ['tsx', 'examples/probex-library.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        return (e as { stdout: string }).stdout;
      }
    };
    expect(JSON.parse(run(['--zoo', zoo, '--epochs', 'x', '--json']))).toEqual({ error: '--epochs must be a positive whole number, got "x"' });
    expect(JSON.parse(run(['--zoo', join(zoo, 'missing'), '--json']))).toEqual({ error: `--zoo ${join(zoo, 'missing')}: no such folder` });
  });
});
