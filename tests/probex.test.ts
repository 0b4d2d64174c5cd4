// ProbeX end to end on the tiny zoo, through the CLI as a user runs it: `probex train` (experts for every tree, both
// heads, baselines, shared ablation), `probex eval` (results table, routing), `probex predict`, `probex search`;
// then the Model-J path (`--modelj --subset`) on generated look-alike folders. Learning is asserted where the tiny
// zoo carries a signal (its LoRA tree; its classifier trees have 8 training models each and sit at chance).
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { encodeSafetensors } from '../src/core/index.ts';
import { buildZoo } from '../src/probex/zoo/build.ts';
import { readManifest } from '../src/probex/zoo/manifest.ts';
import { modelPath } from '../src/probex/zoo/layout.ts';
import { readSafetensorsFile } from '../src/node/safetensors-file.ts';
import { saveClassEmbeddings } from '../src/probex/text/precomputed.ts';
import { seededRandom } from '../src/datasets/split.ts';
import type { ResultRow } from '../src/probex/results.ts';
import { expertConfig, type RunManifest } from '../src/probex/run.ts';
import type { Prediction } from '../src/cli/query.ts';

const zoo = mkdtempSync(join(tmpdir(), 'probex-zoo-'));
const run = join(zoo, 'run');

function cli(args: string[]): { status: number; out: string; err: string } {
  try {
    const out = execFileSync('npx', ['tsx', 'src/cli/probex.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    return { status: 0, out, err: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { status: x.status, out: x.stdout, err: x.stderr };
  }
}

const json = <T>(args: string[]): T => {
  const r = cli(args);
  if (r.status !== 0) throw new Error(`probex ${args.join(' ')} failed: ${r.err}${r.out}`);
  return JSON.parse(r.out.trim().split('\n').pop()!) as T;
};

beforeAll(async () => {
  const { initNode } = await import('../src/node/index.ts');
  const engine = await initNode();
  await buildZoo({ preset: 'tiny', out: zoo });
  engine.destroy();
}, 600_000);

describe('probex train / eval / predict / search on the tiny zoo', () => {
  let results: ResultRow[];
  let routing: { accuracy: number; total: number };

  it('trains every tree, with checkpoints that carry their config', () => {
    const r = json<{ manifest: RunManifest }>(['train', '--zoo', zoo, '--out', run, '--epochs', '30', '--validate-every', '10', '--text-epochs', '30', '--json']);
    const trees = r.manifest.seeds[0].trees;
    expect(trees.map((t) => t.tree).sort()).toEqual(Object.keys(readManifest(zoo)!.trees).sort());
    const lora = trees.find((t) => t.tree === 'lora-autoencoder')!;
    expect(lora.task).toBe('single');
    expect(lora.experts.map((e) => `${e.method}/${e.head}`).sort()).toEqual(['dense-z/classes', 'dense-z/text', 'dense/classes', 'probex/classes', 'probex/text', 'statnn/classes']);
    // The default layer is the largest matrix after the input layer: an MLP's second hidden layer.
    expect(trees.find((t) => t.tree === 'mlp-mnist')!.layer).toBe('layers.1.weight');
    expect(r.manifest.seeds[0].shared[0].trees).toEqual(['mlp-quickdraw', 'mlp-quickdraw-seed2', 'mlp-fashion', 'mlp-mnist']);
    const ck = readSafetensorsFile(join(run, lora.experts.find((e) => e.method === 'probex' && e.head === 'classes')!.file));
    const spec = JSON.parse(ck.metadata.spec) as { encoder: Record<string, number>; layer: string };
    ck.close();
    expect(ck.metadata.format).toBe('probex-expert/1');
    expect(spec.encoder).toMatchObject({ probes: 128, proj: 128, rep: 128 });
    expect(spec.layer).toBe(lora.layer);
    expect(ck.info('encoder.probes').shape).toEqual([lora.shape[1], 128]);
  }, 600_000);

  it('continues an interrupted run without retraining what is saved, and refuses other settings', () => {
    const args = ['train', '--zoo', zoo, '--out', run, '--epochs', '30', '--validate-every', '10', '--text-epochs', '30', '--json'];
    const before = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunManifest;
    const lost = before.seeds[0].trees.find((t) => t.tree === 'mlp-mnist')!.experts.find((e) => e.method === 'statnn')!;
    const kept = before.seeds[0].trees.find((t) => t.tree === 'lora-autoencoder')!.experts[0];
    const keptTime = statSync(join(run, kept.file)).mtimeMs;
    rmSync(join(run, lost.file));
    // The shared ablation's checkpoint too: it is trained again under its own name, its entry replaced, not doubled.
    const shared = before.seeds[0].shared[0];
    rmSync(join(run, shared.file));
    const after = json<{ manifest: RunManifest }>(args).manifest;
    expect(existsSync(join(run, lost.file))).toBe(true);
    expect(after.seeds[0].shared.length).toBe(before.seeds[0].shared.length);
    expect(after.seeds[0].shared[0].file).toBe(shared.file);
    expect(existsSync(join(run, shared.file))).toBe(true);
    expect(statSync(join(run, kept.file)).mtimeMs).toBe(keptTime);
    const again = after.seeds[0].trees.find((t) => t.tree === 'lora-autoencoder')!.experts[0];
    expect(again).toEqual(kept);
    expect(after.seeds[0].trees.flatMap((t) => t.experts).length).toBe(before.seeds[0].trees.flatMap((t) => t.experts).length);
    const other = cli(['train', '--zoo', zoo, '--out', run, '--epochs', '31']);
    expect(other.status).not.toBe(0);
    expect(other.err).toMatch(/holds a run with other config/);
  }, 600_000);

  it('evaluates: ProbeX beats StatNN and chance, routing is exact, the table is written', () => {
    const r = json<{ results: ResultRow[]; routing: { accuracy: number; total: number }; routingWithoutBases: { accuracy: number }; clustering: { purity: number; clusters: number; trees: number } }>(['eval', '--run', run, '--json']);
    // Without bases: distances to each tree's training-model centroid, and clustering with no reference at all.
    expect(r.routingWithoutBases.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.clustering.purity).toBeGreaterThanOrEqual(0.9);
    expect(r.clustering.trees).toBe(6);
    results = r.results;
    routing = r.routing;
    const row = (tree: string, method: string): ResultRow => results.find((x) => x.tree === tree && x.method === method)!;
    const probex = row('lora-autoencoder', 'probex').metrics.top1.mean;
    const statnn = row('lora-autoencoder', 'statnn').metrics.top1.mean;
    const labels = readManifest(zoo)!.trees['lora-autoencoder'].spec;
    const chance = labels.kind === 'lora' ? 1 / labels.seenClasses : 0;
    // 10 seen-class test LoRAs (chance 0.1); measured here: ProbeX 0.7, StatNN 0.3, the text head 0.7.
    expect(row('lora-autoencoder', 'probex').metrics.scored.mean).toBeGreaterThanOrEqual(10);
    expect(probex).toBeGreaterThan(statnn + 0.25);
    expect(probex).toBeGreaterThan(chance + 0.4);
    expect(row('lora-autoencoder', 'probex-text').metrics.seen_top1.mean).toBeGreaterThan(chance + 0.4);
    // The shared ablation is scored on every tree it was trained on, as a real accuracy.
    for (const tree of ['mlp-quickdraw', 'mlp-quickdraw-seed2', 'mlp-fashion', 'mlp-mnist']) {
      const acc = row(tree, 'probex-shared').metrics.per_label_acc.mean;
      expect(acc).toBeGreaterThan(0.25);
      expect(acc).toBeLessThanOrEqual(1);
    }
    for (const x of results) expect(x.parameters).toBeGreaterThan(0);
    expect(routing.total).toBeGreaterThan(10);
    expect(routing.accuracy).toBe(1);
    expect(readFileSync(join(run, 'results.md'), 'utf8')).toMatch(/\| lora-autoencoder \| probex \|/);
    expect(readFileSync(join(run, 'results.md'), 'utf8')).toMatch(/Routing: 100\.0% of \d+ test models/);
  }, 600_000);

  it('routes a zoo without a run: the same report as eval, and clear errors', () => {
    const r = json<{ trees: string[]; routing: { accuracy: number; total: number; correct: number }; withoutBases: { accuracy: number }; clustering: { trees: number } }>(['route', '--zoo', zoo, '--json']);
    expect(r.trees.length).toBe(6);
    expect(r.routing.total).toBe(routing.total);
    expect(r.routing.accuracy).toBe(routing.accuracy);
    expect(r.withoutBases.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.clustering.trees).toBe(6);
    // The two trees whose bases differ only by seed.
    const pair = json<{ routing: { accuracy: number; total: number } }>(['route', '--zoo', zoo, '--trees', 'mlp-quickdraw,mlp-quickdraw-seed2', '--json']);
    expect(pair.routing.total).toBeGreaterThan(0);
    expect(pair.routing.accuracy).toBe(1);
    const one = cli(['route', '--zoo', zoo, '--trees', 'mlp-mnist']);
    expect(one.status).not.toBe(0);
    expect(one.err).toMatch(/routing needs at least two trees, got 1/);
    const none = cli(['route']);
    expect(none.err).toMatch(/route needs --zoo DIR/);
  }, 120_000);

  it('predicts the tree and the classes of unseen models, as eval scored them', () => {
    const m = readManifest(zoo)!;
    const tests = m.trees['lora-autoencoder'].models.filter((x) => x.split === 'test');
    const mlp = m.trees['mlp-quickdraw-seed2'].models.find((x) => x.split === 'test')!;
    const files = [...tests.map((t) => modelPath(zoo, 'lora-autoencoder', 'test', t.id)), modelPath(zoo, 'mlp-quickdraw-seed2', 'test', mlp.id)];
    const { predictions } = json<{ predictions: Prediction[] }>(['predict', ...files, '--run', run, '--json']);
    expect(predictions.map((p) => p.tree)).toEqual([...tests.map(() => 'lora-autoencoder'), 'mlp-quickdraw-seed2']);
    // The top class of each LoRA is the expert's prediction: over the models whose class had training LoRAs (the
    // label space), the hit rate is eval's top-1.
    const labels = (JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunManifest).seeds[0].trees.find((t) => t.tree === 'lora-autoencoder')!.labels;
    const scored = tests.map((t, i) => [t, i] as const).filter(([t]) => labels.includes(t.classes[0]));
    expect(scored.length).toBeGreaterThan(0);
    const hits = scored.filter(([t, i]) => predictions[i].classes![0].class === t.classes[0]).length;
    expect(hits / scored.length).toBeCloseTo(results.find((x) => x.tree === 'lora-autoencoder' && x.method === 'probex')!.metrics.top1.mean, 6);
    for (const p of predictions.slice(0, tests.length)) {
      expect(p.prompts!.length).toBe(5);
      // A softmax over the labels, best first: the top class holds at least the uniform share, the five at most all.
      const probs = p.classes!.map((c) => c.probability);
      expect(probs).toEqual([...probs].sort((a, b) => b - a));
      expect(probs[0]).toBeGreaterThanOrEqual(1 / labels.length - 1e-6);
      expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
      for (const q of probs) expect(q).toBeGreaterThan(0);
      const cosines = p.prompts!.map((c) => c.cosine);
      expect(cosines).toEqual([...cosines].sort((a, b) => b - a));
    }
    expect(predictions[tests.length].classes!.length).toBe(5);
  }, 600_000);

  it('searches models by text', () => {
    const test = readManifest(zoo)!.trees['lora-autoencoder'].models.find((x) => x.split === 'test')!;
    const r = json<{ hits: { classes: string[]; tree: string }[] }>(['search', `a drawing of a ${test.classes[0]}`, '--run', run, '--top', '3', '--json']);
    expect(r.hits.length).toBe(3);
    expect(r.hits[0].classes).toEqual(test.classes);
  }, 600_000);

  it('sweeps the layers and keeps the best on validation', () => {
    const out = join(zoo, 'run-sweep');
    const r = json<{ manifest: RunManifest }>(['train', '--zoo', zoo, '--trees', 'lora-autoencoder', '--sweep', '--seeds', '2', '--methods', 'probex', '--epochs', '10', '--validate-every', '5', '--text-epochs', '10', '--out', out, '--json']);
    // Each seed sweeps on its own validation models (seed 0's pick would have seen models in seed 1's test split).
    expect(r.manifest.seeds.map((s) => s.seed)).toEqual([0, 1]);
    const results = () => readFileSync(join(out, 'results.md'), 'utf8');
    json(['eval', '--run', out, '--json']);
    for (const s of r.manifest.seeds) {
      const t = s.trees[0];
      expect(t.sweep!.map((l) => l.layer)).toEqual(['layers.0.lora', 'layers.1.lora', 'layers.2.lora', 'layers.3.lora']);
      const best = Math.max(...t.sweep!.map((l) => l.val));
      expect(t.sweep!.find((l) => l.layer === t.layer)!.val).toBe(best);
      expect(results()).toMatch(new RegExp(`\\| ${s.seed} \\| lora-autoencoder \\| ${t.layer.replace(/\./g, '\\.')} \\*`));
    }
    // A run of one tree still routes among all of the zoo's trees: a model of another tree is refused, not scored
    // by this tree's expert; a model of the zoo says which split it is (a training model is not a held-out case).
    const m = readManifest(zoo)!;
    const lora = m.trees['lora-autoencoder'].models.find((x) => x.split === 'test')!;
    const mine = json<{ predictions: Prediction[] }>(['predict', modelPath(zoo, 'lora-autoencoder', 'test', lora.id), '--run', out, '--json']);
    expect(mine.predictions[0]).toMatchObject({ tree: 'lora-autoencoder', routedBy: 'signature', known: { tree: 'lora-autoencoder', split: 'test', classes: lora.classes } });
    const trainLora = m.trees['lora-autoencoder'].models.find((x) => x.split === 'train')!;
    expect(cli(['predict', modelPath(zoo, 'lora-autoencoder', 'train', trainLora.id), '--run', out]).out).toMatch(/the zoo's train model, trained on: .*\(seen in training: not a held-out prediction\)/);
    for (const tree of ['mlp-mnist', 'mlp-quickdraw-seed2']) {
      const mlp = m.trees[tree].models.find((x) => x.split === 'test')!;
      const other = cli(['predict', modelPath(zoo, tree, 'test', mlp.id), '--run', out]);
      expect(other.status).not.toBe(0);
      expect(other.err).toMatch(new RegExp(`its weights place it in tree "${tree}" of the zoo \\(by distance\\), which this run has no experts for \\(it trained lora-autoencoder\\)`));
    }
  }, 600_000);

  it('gives text-aligned heads their own optimisation settings (--text-*), the architecture of the run, each expert its seed', () => {
    const config = { epochs: 100, lr: 5e-4, weightDecay: 1e-4, batch: 64, validateEvery: 5, probes: 32, text: { epochs: 200 } };
    expect(expertConfig(config, 'classes', 0)).toEqual({ epochs: 100, lr: 5e-4, weightDecay: 1e-4, batch: 64, validateEvery: 5, probes: 32, seed: 1 });
    // The discriminative head's lr, decay, batch and validation interval do not override the text head's defaults.
    expect(expertConfig(config, 'text', 2)).toEqual({ epochs: 200, probes: 32, seed: 3 });
    expect(expertConfig({ lr: 1e-2, text: { lr: 3e-3 } }, 'text', 0)).toEqual({ lr: 3e-3, seed: 1 });
    expect(expertConfig(undefined, 'text', 0)).toEqual({ seed: 1 });
  });

  it('fails with a one-line error on bad input', () => {
    const r = cli(['train', '--zoo', zoo, '--out', join(zoo, 'run2'), '--epochs', 'ten']);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/--epochs must be a positive whole number, got "ten"/);
    expect(cli(['train', '--zoo', zoo, '--out', join(zoo, 'run2'), '--text-epochs', '0']).err).toMatch(/--text-epochs must be a positive whole number, got "0"/);
    const e = cli(['eval', '--run', join(zoo, 'nothing')]);
    expect(e.err).toMatch(/nothing: no such folder \(a run is trained with/);
    const l = cli(['train', '--zoo', zoo, '--trees', 'mlp-mnist', '--layer', 'layers.9.weight', '--out', join(zoo, 'run3'), '--epochs', '1']);
    expect(l.err).toMatch(/no layer "layers\.9\.weight"/);
    expect(cli(['train', '--zoo', zoo, '--out', join(zoo, 'run2'), '--text-weight-decay=-1']).err).toMatch(/--text-weight-decay must be a number >= 0, got "-1"/);
    expect(cli(['train', '--zoo', zoo, '--out', join(zoo, 'zoo.json')]).err).toMatch(/zoo\.json is a file, not a folder/);
    // A negative number after a flag is that flag's value, checked by the flag's own rule.
    expect(cli(['train', '--zoo', zoo, '--out', join(zoo, 'run2'), '--epochs', '-1']).err).toMatch(/--epochs must be a positive whole number, got "-1"/);
    // Zoo and run folders are told apart.
    expect(cli(['train', '--zoo', zoo, '--out', zoo, '--epochs', '1']).err).toMatch(new RegExp(`${zoo} is a zoo folder \\(zoo\\.json\\); train the run into another --out`));
    expect(cli(['eval', '--run', zoo]).err).toMatch(/is a zoo folder \(zoo\.json\), not a run/);
    expect(cli(['zoo', 'summary', run]).err).toMatch(new RegExp(`${run} is a run folder \\(run\\.json\\), not a zoo; its run was trained on zoo ${zoo}`));
    expect(cli(['zoo', 'summary', join(zoo, 'mlp-mnist')]).err).toMatch(new RegExp(`is a folder inside zoo ${zoo}; give the zoo's own folder`));
    expect(cli(['zoo', 'build', '--preset', 'tiny', '--out', run]).err).toMatch(/is a run folder \(run\.json\); build the zoo in another --out/);
  }, 600_000);

  it('keeps a run working from any folder: run.json records absolute paths, and a moved zoo is named', () => {
    const out = join(zoo, 'run-relative');
    const cwd = join(zoo, '..');
    const script = join(process.cwd(), 'src/cli/probex.ts');
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const inDir = (dir: string, args: string[]): string => execFileSync(tsx, [script, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    inDir(cwd, ['train', '--zoo', relative(cwd, zoo), '--out', relative(cwd, out), '--trees', 'lora-autoencoder', '--methods', 'statnn', '--epochs', '2', '--validate-every', '1', '--json']);
    const recorded = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunManifest;
    expect(recorded.source.zoo).toBe(zoo);
    expect(recorded.text!.file).toBe(join(zoo, 'text', 'use-lite.safetensors'));
    expect(JSON.parse(inDir(tmpdir(), ['eval', '--run', out, '--json']).trim().split('\n').pop()!).rows.length).toBeGreaterThan(0);
    recorded.source.zoo = join(zoo, 'moved-away');
    writeFileSync(join(out, 'run.json'), JSON.stringify(recorded));
    expect(cli(['eval', '--run', out]).err).toMatch(new RegExp(`the run's zoo ${zoo}/moved-away \\(recorded in ${out}/run\\.json\\) is not there; pass --zoo DIR`));
    expect(cli(['eval', '--run', out, '--zoo', zoo, '--json']).status).toBe(0);
  }, 600_000);

  it('prints each command\'s usage for --help, and nothing else', () => {
    const train = cli(['train', '--help']);
    expect(train.status).toBe(0);
    expect(train.out).toMatch(/^usage:\n {2}probex train /);
    expect(train.out).toMatch(/--text-lr X/);
    expect(train.out).not.toMatch(/probex eval/);
    expect(cli(['zoo', 'build', '-h']).out).toMatch(/^usage:\n {2}probex zoo build [^\n]*\n {15}\(preset default: default[^\n]*\n$/);
    expect(train.out).toMatch(/defaults, the paper's: classes epochs 500, lr 1e-3/);
    for (const cmd of ['eval', 'predict', 'search', 'route', 'inspect']) expect(cli([cmd, '--help']).out).toMatch(new RegExp(`^usage:\\n {2}probex ${cmd} `));
    const bare = cli([]);
    expect(bare.status).not.toBe(0);
    expect(bare.err).toMatch(/name a command\nusage:/);
    expect(cli(['zoo']).err).toMatch(/^probex: zoo needs a subcommand: build or summary\n$/);
    expect(cli(['zoo', 'sumary']).err).toMatch(/zoo needs a subcommand: build or summary \(got "sumary"\)/);
    expect(cli(['frobnicate']).err).toMatch(/^probex: unknown command "frobnicate" \(commands: zoo build, .*\)\n$/);
  }, 120_000);

  it('refuses to score a run on other models than it trained on (the test split would hold training models)', () => {
    const path = join(run, 'run.json');
    const saved = readFileSync(path);
    try {
      const m = JSON.parse(saved.toString('utf8')) as RunManifest;
      const t = m.seeds[0].trees.find((x) => x.tree === 'mlp-mnist')!;
      expect(t.splits).toMatch(/^\d+:[0-9a-f]{8}$/);
      t.splits = '999:00000000';
      writeFileSync(path, JSON.stringify(m));
      const r = cli(['eval', '--run', run, '--trees', 'mlp-mnist']);
      expect(r.status).not.toBe(0);
      expect(r.err).toMatch(/tree "mlp-mnist", split seed 0: the models are not those the run trained with \(split digest 999:00000000 then/);
    } finally {
      writeFileSync(path, saved);
    }
  }, 120_000);

  it('refuses a run folder that another process is training into, and changes nothing', async () => {
    const out = join(zoo, 'run-locked');
    mkdirSync(out, { recursive: true });
    const sleeper = spawn('sleep', ['60']);
    try {
      writeFileSync(join(out, '.run.lock'), String(sleeper.pid));
      const r = cli(['train', '--zoo', zoo, '--trees', 'mlp-mnist', '--out', out, '--epochs', '1']);
      expect(r.status).not.toBe(0);
      expect(r.err).toMatch(new RegExp(`run .*run-locked is in use by process ${sleeper.pid}`));
      expect(existsSync(join(out, 'run.json'))).toBe(false);
      // Nor is a run scored (and its results written) while it is being trained.
      const results = readFileSync(join(run, 'results.json'));
      writeFileSync(join(run, '.run.lock'), String(sleeper.pid));
      const e = cli(['eval', '--run', run]);
      expect(e.err).toMatch(new RegExp(`in use by process ${sleeper.pid}`));
      expect(readFileSync(join(run, 'results.json')).equals(results)).toBe(true);
    } finally {
      sleeper.kill();
      rmSync(join(run, '.run.lock'), { force: true });
    }
  }, 120_000);
});

describe('probex train --modelj on look-alike Model-J folders', () => {
  it('trains and evaluates an SD LoRA subset with labels from the metadata and a class map', () => {
    // SD_200 layout at reduced size: LoRAs of rank 2 on a 24 x 24 layer, each class a fixed direction plus noise.
    const root = join(zoo, 'modelj', 'SD_200');
    const layer = 'unet.down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_q';
    const wnids = Array.from({ length: 6 }, (_, i) => `n0144${String(i).padStart(4, '0')}`);
    const rand = seededRandom(5);
    const dir = wnids.map(() => Float32Array.from({ length: 24 * 2 }, () => rand() - 0.5));
    const splits: [string, number][] = [['train', 4], ['val', 1], ['test', 1]];
    let idx = 0;
    for (const [c, w] of wnids.entries()) {
      const held = c >= 4;
      for (const [split, count] of held ? ([['val_holdout', 1], ['test_holdout', 1]] as [string, number][]) : splits) {
        for (let k = 0; k < count; k++, idx++) {
          const path = join(root, split, `model_idx_${String(idx).padStart(4, '0')}`);
          mkdirSync(path, { recursive: true });
          const noise = (n: number): Float32Array => Float32Array.from({ length: n }, () => 0.1 * (rand() - 0.5));
          const up = dir[c].map((v, i) => v + noise(48)[i]);
          writeFileSync(
            join(path, 'pytorch_lora_weights.safetensors'),
            encodeSafetensors(
              [
                [`${layer}.lora.down.weight`, { dtype: 'F32', shape: [2, 24], data: dir[c].map((v, i) => -v + noise(48)[i]) }],
                [`${layer}.lora.up.weight`, { dtype: 'F32', shape: [24, 2], data: up }],
              ],
              { imagenet_class_id: w },
            ),
          );
        }
      }
    }
    const names = ['tench', 'goldfish', 'great white shark', 'tiger shark', 'hammerhead', 'electric ray'];
    const map = join(zoo, 'modelj', 'classes.txt');
    writeFileSync(map, wnids.map((w, i) => `${w} ${names[i]}, other name`).join('\n'));
    const text = join(zoo, 'modelj', 'text.safetensors');
    saveClassEmbeddings(text, { encoder: 'random', promptTemplate: 'a photo of a {class}', classes: names, dim: 8, data: Float32Array.from({ length: 48 }, () => rand() - 0.5) });
    const out = join(zoo, 'modelj-run');
    const t = json<{ manifest: RunManifest }>(['train', '--modelj', join(zoo, 'modelj'), '--subset', 'SD_200', '--class-map', map, '--text', text, '--out', out, '--epochs', '40', '--validate-every', '10', '--text-epochs', '40', '--methods', 'probex,statnn', '--json']);
    const tree = t.manifest.seeds[0].trees[0];
    expect(tree.layer).toBe(`${layer}.lora`);
    expect(tree.labels).toEqual(['goldfish', 'great white shark', 'tench', 'tiger shark']);
    expect(tree.heldout).toEqual(['electric ray', 'hammerhead']);
    const e = json<{ results: ResultRow[] }>(['eval', '--run', out, '--json']);
    expect(e.results.find((x) => x.method === 'probex')!.metrics.top1.mean).toBe(1);
    expect(e.results.find((x) => x.method === 'probex-text')!.metrics.seen_top1.mean).toBe(1);
    expect(existsSync(join(out, 'results.md'))).toBe(true);
  }, 600_000);
});
