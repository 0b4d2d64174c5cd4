// The tiny zoo, built for real on this machine: layout and metadata as documented, fine-tunes that beat chance
// (LoRAs that beat their base), a build that resumes without redoing or duplicating models, and the file reader and
// `probex inspect` rejecting malformed files.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { encodeSafetensors } from '../src/core/index.ts';
import { buildZoo } from '../src/probex/zoo/build.ts';
import { readManifest, type Manifest } from '../src/probex/zoo/manifest.ts';
import { summarizeZoo } from '../src/probex/zoo/summary.ts';
import { zooSamples } from '../src/probex/data/samples.ts';
import { measureSignal } from '../src/probex/signal.ts';
import { PRESETS } from '../src/probex/zoo/presets.ts';
import { basePath, modelPath } from '../src/probex/zoo/layout.ts';
import { readSafetensorsFile } from '../src/node/safetensors-file.ts';
import { acquireLock } from '../src/node/files.ts';
import { binomialKernel, smoothImages } from '../src/probex/zoo/data.ts';
import { loadClassEmbeddings } from '../src/probex/text/precomputed.ts';
import { textEmbeddingsPath } from '../src/probex/text/class-embeddings.ts';
import { USE_LITE_NAME } from '../src/probex/text/use-lite.ts';
import { useEngine } from './support/engine.ts';

useEngine();

const zoo = mkdtempSync(join(tmpdir(), 'zoo-tiny-'));
let manifest: Manifest;
let buildSeconds = 0;

beforeAll(async () => {
  const t0 = performance.now();
  await buildZoo({ preset: 'tiny', out: zoo });
  buildSeconds = (performance.now() - t0) / 1000;
  manifest = readManifest(zoo)!;
}, 600_000);

describe('tiny zoo', () => {
  it('builds every tree of the preset in under two minutes', () => {
    console.log(`tiny zoo built in ${buildSeconds.toFixed(1)} s`);
    expect(buildSeconds).toBeLessThan(120);
    expect(manifest.status).toBe('complete');
    expect(Object.keys(manifest.trees).sort()).toEqual(PRESETS.tiny.trees.map((t) => t.name).sort());
  });

  it('stores the text embeddings of every class prompt', () => {
    const e = loadClassEmbeddings(textEmbeddingsPath(zoo, USE_LITE_NAME));
    expect(e.classes.length).toBe(345);
    expect(e.dim).toBe(512);
    expect(e.promptTemplate).toBe('a drawing of a {class}');
    expect(e.encoder).toBe(USE_LITE_NAME);
  });

  it('splits classes into a pretraining pool and 170 seen + 30 held-out fine-tuning classes, disjoint', () => {
    const { pretrain, seen, heldout } = manifest.classSplit;
    expect(seen.length).toBe(170);
    expect(heldout.length).toBe(30);
    expect(pretrain.length).toBe(345 - 200);
    const all = new Set([...pretrain, ...seen, ...heldout]);
    expect(all.size).toBe(345);
  });

  it('lays models out as <tree>/<split>/<model-id>/model.safetensors with their metadata', () => {
    for (const [name, tree] of Object.entries(manifest.trees)) {
      expect(existsSync(basePath(zoo, name))).toBe(true);
      const planned = Object.values(tree.planned).reduce((a, b) => a + b, 0);
      expect(tree.models.length).toBe(planned);
      expect(new Set(tree.models.map((m) => m.id)).size).toBe(planned);
      for (const m of tree.models) {
        const f = readSafetensorsFile(modelPath(zoo, name, m.split, m.id));
        expect(f.metadata.tree).toBe(name);
        expect(JSON.parse(f.metadata.classes)).toEqual(m.classes);
        for (const key of ['seed', 'learning_rate', 'epochs', 'base', 'split']) expect(f.metadata[key]).toBeDefined();
        if (tree.spec.kind === 'classifier') {
          expect(m.classes.length).toBe(tree.spec.pool / 2);
          expect(m.classes.every((c) => tree.pool.includes(c) && manifest.classSplit.seen.includes(c))).toBe(true);
          expect(f.names()).toContain('head.weight');
          expect(f.info('head.weight').shape[0]).toBe(tree.spec.pool / 2);
        } else {
          expect(m.classes.length).toBe(1);
          expect(f.names().some((n) => n.endsWith('lora.down.weight'))).toBe(true);
          expect(f.info('layers.0.lora.up.weight').shape[1]).toBe(tree.spec.rank);
          // Held-out classes only in the holdout splits, and only there.
          const held = manifest.classSplit.heldout.includes(m.classes[0]);
          expect(held).toBe(m.split.endsWith('_holdout'));
        }
        f.close();
      }
    }
  });

  it('classifier fine-tunes beat chance and LoRAs beat their base on drawings they did not train on', () => {
    const s = summarizeZoo(zoo);
    for (const t of s.trees) {
      if (t.accuracy) expect(t.accuracy.mean, t.name).toBeGreaterThan(t.accuracy.chance + 0.1);
      if (t.reconstruction) {
        expect(t.reconstruction.mean, t.name).toBeLessThan(t.reconstruction.baseMean);
        expect(t.reconstruction.improved, t.name).toBeGreaterThan(0.7);
      }
    }
  });

  it('measures a per-layer linear-probe signal for every tree, shown by the summary', async () => {
    const signal = await measureSignal(zoo);
    expect(new Set(signal.map((l) => l.tree))).toEqual(new Set(Object.keys(manifest.trees)));
    for (const l of signal) {
      expect(l.value).toBeGreaterThanOrEqual(0);
      expect(l.value).toBeLessThanOrEqual(1);
    }
    // One class per LoRA: even 8 training models tell their classes apart far above chance.
    const lora = signal.filter((l) => l.tree === 'lora-autoencoder');
    expect(Math.max(...lora.map((l) => l.value))).toBeGreaterThan(3 * lora[0].chance);
    expect(summarizeZoo(zoo).trees.every((t) => (t.signal?.length ?? 0) > 0)).toBe(true);
  }, 120_000);

  it('a second build finds everything done and trains nothing', async () => {
    const before = readFileSync(modelPath(zoo, 'mlp-mnist', manifest.trees['mlp-mnist'].models[0].split, manifest.trees['mlp-mnist'].models[0].id));
    const report = await buildZoo({ preset: 'tiny', out: zoo });
    expect(report.trees.reduce((n, t) => n + t.trained, 0)).toBe(0);
    expect(report.complete).toBe(true);
    const m0 = manifest.trees['mlp-mnist'].models[0];
    expect(readFileSync(modelPath(zoo, 'mlp-mnist', m0.split, m0.id)).equals(before)).toBe(true);
  });

  it('refuses to mix presets in one folder', async () => {
    await expect(buildZoo({ preset: 'medium', out: zoo })).rejects.toThrow(/holds a "tiny" zoo/);
  });
});

describe('resuming an interrupted build', () => {
  it('continues where it stopped, without duplicates, to the same models', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zoo-resume-'));
    try {
      const first = await buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist'], maxModels: 5 });
      expect(first.trees[0].trained).toBe(5);
      expect(readManifest(dir)!.status).toBe('building');
      // Experts can use a partly built tree, with a warning that says so.
      const warnings: string[] = [];
      expect(zooSamples(dir, ['mlp-mnist'], (w) => warnings.push(w))[0].models.length).toBe(5);
      expect(warnings).toEqual([expect.stringMatching(/tree "mlp-mnist" is partly built \(5 of 12 models\)/)]);
      const none: string[] = [];
      zooSamples(zoo, ['mlp-mnist'], (w) => none.push(w));
      expect(none).toEqual([]);
      // A model file written just before a crash, but missing from the manifest, is picked up from its metadata.
      const partial = readManifest(dir)!;
      const lost = partial.trees['mlp-mnist'].models.pop()!;
      writeFileSync(join(dir, 'zoo.json'), JSON.stringify(partial));
      const second = await buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist'] });
      expect(second.trees[0].trained).toBe(12 - 5);
      const tree = readManifest(dir)!.trees['mlp-mnist'];
      expect(tree.models.length).toBe(12);
      expect(new Set(tree.models.map((m) => m.id)).size).toBe(12);
      expect(tree.models.find((m) => m.id === lost.id)).toEqual(lost);
      // A recorded model whose file is gone is trained again and recorded once.
      const gone = tree.models[3];
      rmSync(modelPath(dir, 'mlp-mnist', gone.split, gone.id));
      const third = await buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist'] });
      expect(third.trees[0].trained).toBe(1);
      const healed = readManifest(dir)!.trees['mlp-mnist'].models;
      expect(healed.length).toBe(12);
      expect(new Set(healed.map((m) => m.id)).size).toBe(12);
      expect(existsSync(modelPath(dir, 'mlp-mnist', gone.split, gone.id))).toBe(true);
      // A process killed mid-write leaves a temporary file (swept), or a file cut short (found damaged, trained again).
      const hurt = healed[7];
      const hurtPath = modelPath(dir, 'mlp-mnist', hurt.split, hurt.id);
      const whole = readFileSync(hurtPath);
      writeFileSync(hurtPath, whole.subarray(0, whole.length - 100));
      const stale = join(dir, 'mlp-mnist', hurt.split, hurt.id, `.model.safetensors.99999.tmp`);
      writeFileSync(stale, 'partial');
      const fourth = await buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist'] });
      expect(fourth.trees[0].trained).toBe(1);
      expect(existsSync(stale)).toBe(false);
      expect(readFileSync(hurtPath).equals(whole)).toBe(true);
      expect(readManifest(dir)!.trees['mlp-mnist'].models.length).toBe(12);
      // Same plan as the full build: identical class choices and hyperparameters per model id.
      const full = manifest.trees['mlp-mnist'].models;
      for (const m of tree.models) {
        const twin = full.find((f) => f.id === m.id)!;
        expect([m.classes, m.seed, m.lr, m.epochs, m.split]).toEqual([twin.classes, twin.seed, twin.lr, twin.epochs, twin.split]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('zoo build options', () => {
  it('rejects bad options before training anything, naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zoo-options-'));
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'not a zoo');
      await expect(buildZoo({ preset: 'tiny', out: file })).rejects.toThrow(/a-file is a file, not a folder/);
      await expect(buildZoo({ preset: 'huge', out: join(dir, 'z') })).rejects.toThrow(/unknown preset "huge" \(choose tiny, medium, default\)/);
      await expect(buildZoo({ preset: 'tiny', out: join(dir, 'z'), maxModels: -1 })).rejects.toThrow(/max-models must be a whole number >= 0/);
      expect(existsSync(join(dir, 'z'))).toBe(false);
      const r = spawnSync('npx', ['tsx', 'src/cli/probex.ts', 'zoo', 'build', '--out', join(dir, 'z'), '--max-models', '', '--json'], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(JSON.parse(r.stdout).error).toBe('--max-models must be a whole number >= 0, got ""');
      expect(existsSync(join(dir, 'z'))).toBe(false);
      // A zoo.json that parses but is not a manifest.
      mkdirSync(join(dir, 'y'));
      writeFileSync(join(dir, 'y', 'zoo.json'), 'null');
      expect(() => readManifest(join(dir, 'y'))).toThrow(/zoo\.json: not a probex-zoo\/1 file \(format null\)/);
      // A signal table that is not a list.
      mkdirSync(join(dir, 'x'));
      writeFileSync(join(dir, 'x', 'zoo.json'), readFileSync(join(zoo, 'zoo.json')));
      writeFileSync(join(dir, 'x', 'signal.json'), '{}');
      expect(() => summarizeZoo(join(dir, 'x'))).toThrow(/signal\.json: expected a JSON list, found object/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('choosing trees', () => {
  it('builds the named trees in the order named, to the same models as the full build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zoo-order-'));
    try {
      // With room for 3 models, the first tree named gets them, whatever its place in the preset.
      const r = await buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist', 'mlp-fashion', 'mlp-mnist'], maxModels: 3 });
      expect(r.trees.map((t) => [t.name, t.trained])).toEqual([['mlp-mnist', 3], ['mlp-fashion', 0]]);
      const id = readManifest(dir)!.trees['mlp-mnist'].models[0];
      const full = manifest.trees['mlp-mnist'].models.find((m) => m.id === id.id)!;
      expect(readFileSync(modelPath(dir, 'mlp-mnist', id.split, id.id))).toEqual(readFileSync(modelPath(zoo, 'mlp-mnist', full.split, full.id)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('guarding a zoo folder', () => {
  it('refuses to resume a tree built with another recipe, and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zoo-recipe-'));
    try {
      await buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist'], maxModels: 2 });
      const m = readManifest(dir)!;
      (m.trees['mlp-mnist'].spec as { epochs: number[] }).epochs = [99];
      writeFileSync(join(dir, 'zoo.json'), JSON.stringify(m));
      const before = readFileSync(join(dir, 'zoo.json'));
      await expect(buildZoo({ preset: 'tiny', out: dir, trees: ['mlp-mnist'] })).rejects.toThrow(/tree mlp-mnist .* another recipe/);
      expect(readFileSync(join(dir, 'zoo.json')).equals(before)).toBe(true);
      expect(existsSync(join(dir, '.build.lock'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a folder that a running build holds, and takes over a lock left by a dead one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zoo-lock-'));
    const sleeper = spawn('sleep', ['60']);
    try {
      writeFileSync(join(dir, '.build.lock'), String(sleeper.pid));
      await expect(buildZoo({ preset: 'tiny', out: dir })).rejects.toThrow(new RegExp(`in use by process ${sleeper.pid}`));
      expect(existsSync(join(dir, 'zoo.json'))).toBe(false);
      sleeper.kill();
      await new Promise((r) => sleeper.once('exit', r));
      const release = acquireLock(join(dir, '.build.lock'), 'test');
      expect(readFileSync(join(dir, '.build.lock'), 'utf8')).toBe(String(process.pid));
      release();
      expect(existsSync(join(dir, '.build.lock'))).toBe(false);
    } finally {
      sleeper.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('smoothing drawings (the LoRA tree)', () => {
  it('uses a normalized binomial kernel and rejects even widths', () => {
    expect(binomialKernel(5)).toEqual([1, 4, 6, 4, 1].map((v) => v / 16));
    expect(binomialKernel(1)).toEqual([1]);
    expect(() => binomialKernel(4)).toThrow(/odd positive integer, got 4/);
  });

  it('spreads one pixel into the outer product of the kernel, cut at the image border', () => {
    const img = new Float32Array(2 * 784);
    img[784 + 10 * 28 + 12] = 1;
    img[0] = 1; // a corner pixel: half of each kernel falls outside
    smoothImages(img, 5);
    const k = binomialKernel(5);
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) expect(img[784 + (10 + dy) * 28 + 12 + dx]).toBeCloseTo(k[dy + 2] * k[dx + 2], 7);
    expect(img.subarray(784).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(img[0]).toBeCloseTo(k[2] * k[2], 7);
    expect(img.subarray(0, 784).reduce((a, b) => a + b, 0)).toBeCloseTo((k[2] + k[3] + k[4]) ** 2, 6);
    const same = Float32Array.from([0.5, 0.25]);
    expect([...smoothImages(same, 0)]).toEqual([0.5, 0.25]);
  });
});

describe('safetensors files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const good = join(dir, 'good.safetensors');
  const bytes = encodeSafetensors([['w', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }]], { note: 'hi' });
  writeFileSync(good, bytes);
  const cli = (file: string): { status: number; out: string } => {
    try {
      const out = execFileSync('npx', ['tsx', 'src/cli/probex.ts', 'inspect', file, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: 0, out };
    } catch (e) {
      const err = e as { status: number; stdout: string };
      return { status: err.status, out: err.stdout };
    }
  };

  it('reads one tensor by offset, converting F16 and BF16', () => {
    const f = readSafetensorsFile(good);
    expect([...f.readF32('w')]).toEqual([1, 2, 3, 4, 5, 6]);
    f.close();
    const half = join(dir, 'half.safetensors');
    // 1.5 in F16 is 0x3e00; -2 in BF16 is 0xc000.
    writeFileSync(half, encodeSafetensors([
      ['h', { dtype: 'F16', shape: [1], data: new Uint16Array([0x3e00]) }],
      ['b', { dtype: 'BF16', shape: [1], data: new Uint16Array([0xc000]) }],
    ]));
    const g = readSafetensorsFile(half);
    expect([...g.readF32('h'), ...g.readF32('b')]).toEqual([1.5, -2]);
    g.close();
  });

  it('probex inspect lists tensors and metadata from the header', () => {
    const r = cli(good);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.out) as { tensors: { name: string; shape: number[]; bytes: number }[]; metadata: Record<string, string> };
    expect(j.tensors).toEqual([{ name: 'w', dtype: 'F32', shape: [2, 3], bytes: 24, elements: 6 }]);
    expect(j.metadata).toEqual({ note: 'hi' });
  }, 60_000);

  const cases: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ['a truncated file', (b) => b.subarray(0, 5), /too short/],
    ['a header length beyond the file', (b) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(0, 1n << 40n, true); return c; }, /header length .* exceeds the file/],
    ['a header that is not JSON', (b) => { const c = b.slice(); c[8] = 0x7b; c[9] = 0x7b; return c; }, /not valid UTF-8 JSON/],
    ['data shorter than the offsets', (b) => b.subarray(0, b.length - 4), /outside the \d+ data bytes/],
  ];
  for (const [what, corrupt, message] of cases) {
    it(`rejects ${what}, naming the file`, () => {
      const path = join(dir, `${what.replace(/\W+/g, '-')}.safetensors`);
      writeFileSync(path, corrupt(bytes));
      expect(() => readSafetensorsFile(path)).toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*`));
      expect(() => readSafetensorsFile(path)).toThrow(message);
    });
  }

  it('rejects a header that names one tensor twice, naming the file and the tensor', () => {
    const body = new Float32Array([1, 2]);
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "w" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    const head = new TextEncoder().encode(header);
    const file = new Uint8Array(8 + head.length + 8);
    new DataView(file.buffer).setBigUint64(0, BigInt(head.length), true);
    file.set(head, 8);
    file.set(new Uint8Array(body.buffer), 8 + head.length);
    const path = join(dir, 'twice.safetensors');
    writeFileSync(path, file);
    expect(() => readSafetensorsFile(path)).toThrow(`${path}: the header names "w" twice`);
    // The same name inside metadata or nested objects is not a repeat.
    const ok = join(dir, 'nested.safetensors');
    writeFileSync(ok, encodeSafetensors([['w', { dtype: 'F32', shape: [1], data: new Float32Array([1]) }]], { w: '{"w": 1, "x": "\\"w\\":"}' }));
    expect(readSafetensorsFile(ok).names()).toEqual(['w']);
  });

  it('names the file and the tensor when asked for floats of an integer tensor, and rejects a folder', () => {
    const path = join(dir, 'ints.safetensors');
    writeFileSync(path, encodeSafetensors([['n', { dtype: 'I32', shape: [2], data: new Int32Array([1, 2]) }]]));
    const f = readSafetensorsFile(path);
    expect(() => f.readF32('n')).toThrow(`${path}: tensor "n": cannot convert I32 to float32`);
    f.close();
    expect(() => readSafetensorsFile(dir)).toThrow(`${dir}: is a folder, not a safetensors file`);
  });

  it('probex inspect fails with one line and a non-zero exit on a malformed file', () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, bytes.subarray(0, 5));
    const r = cli(path);
    expect(r.status).not.toBe(0);
    const j = JSON.parse(r.out) as { error: string };
    expect(j.error).toContain(path);
    expect(j.error.split('\n').length).toBe(1);
  }, 60_000);

  it('leaves no temporary files behind in a built zoo', () => {
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [e.name]));
    expect(walk(zoo).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
