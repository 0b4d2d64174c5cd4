// The router on a synthetic zoo written here (no GPU, no built zoo): three trees with identical shapes whose bases
// differ (two independent draws and a close relative of the first), a tree with other tensor names and a LoRA tree.
// Fine-tunes = base + small noise + a per-model rank-1 delta, each with its own new head. Checks signature routing,
// distance routing against bases and (bases unknown) against the mean of train models, the unknown-signature error,
// the accuracy report's counts, the MoTHer distance against a hand computation, and clustering without bases.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, type SafeDType } from '../src/core/io/safetensors.ts';
import { seededRandom } from '../src/datasets/split.ts';
import { treeSamples, type ModelSample, type TreeSamples } from '../src/probex/data/samples.ts';
import type { Split } from '../src/probex/zoo/layout.ts';
import { Router, UNROUTED, routingAccuracy } from '../src/probex/routing/router.ts';
import { clusterByDistance } from '../src/probex/routing/cluster.ts';
import { motherDistance } from '../src/probex/routing/distance.ts';
import { parseSignature, signature } from '../src/probex/routing/signature.ts';

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

const dir = mkdtempSync(join(tmpdir(), 'probex-router-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rand = seededRandom(20240611);
function gauss(): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
const noise = (n: number, sd: number): Float32Array => Float32Array.from({ length: n }, () => sd * gauss());
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function write(path: string, w: Weights, metadata: Record<string, string> = {}, dtype: SafeDType = 'F32'): string {
  mkdirSync(join(path, '..'), { recursive: true });
  const tensors = [...w].map(([name, t]): [string, { dtype: SafeDType; shape: number[]; data: ArrayBufferView }] => [
    name,
    { dtype, shape: t.shape, data: dtype === 'F64' ? Float64Array.from(t.data) : t.data },
  ]);
  writeFileSync(path, encodeSafetensors(tensors, metadata));
  return path;
}

const MLP: [string, number[]][] = [
  ['layers.0.weight', [12, 20]],
  ['layers.0.bias', [12]],
  ['layers.1.weight', [6, 12]],
  ['layers.1.bias', [6]],
];
const OTHER: [string, number[]][] = [
  ['blocks.0.attn.weight', [8, 8]],
  ['blocks.0.mlp.weight', [16, 8]],
  ['norm.weight', [8]],
];

const randomBase = (spec: [string, number[]][], sd: number): Weights => new Map(spec.map(([n, s]) => [n, { shape: s, data: noise(size(s), sd) }]));

function withHead(w: Weights, classes: number, width: number): Weights {
  const out: Weights = new Map(w);
  out.set('head.weight', { shape: [classes, width], data: noise(classes * width, 0.3) });
  out.set('head.bias', { shape: [classes], data: noise(classes, 0.3) });
  return out;
}

/** base + N(0, 0.004 s) + s 0.01 u v^T on every matrix, s = step (0.5 + U(0, 1)) per model (a learning rate). */
function fineTune(base: Weights, step = 1): Weights {
  const s = step * (0.5 + rand());
  const out: Weights = new Map();
  for (const [name, t] of base) {
    const data = Float32Array.from(t.data);
    const eps = noise(data.length, 0.004 * s);
    for (let i = 0; i < data.length; i++) data[i] += eps[i];
    if (t.shape.length === 2) {
      const [r, c] = t.shape;
      const u = noise(r, 1);
      const v = noise(c, 1);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[i * c + j] += 0.01 * s * u[i] * v[j];
    }
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

const SPLITS: [Split, number][] = [
  ['train', 5],
  ['val', 1],
  ['test', 3],
];

interface Synthetic {
  samples: TreeSamples;
  /** Weights of every model by path, for hand checks. */
  weights: Map<string, Weights>;
}

function denseTree(tree: string, base: Weights, width: number): Synthetic {
  const basePath = write(join(dir, tree, 'base', 'model.safetensors'), withHead(base, 30, width), { role: 'base' });
  const models: ModelSample[] = [];
  const weights = new Map<string, Weights>();
  for (const [split, count] of SPLITS) {
    for (let i = 0; i < count; i++) {
      const id = `${split}-${i}`;
      const w = withHead(fineTune(base), 2 + i, width);
      const path = write(join(dir, tree, split, id, 'model.safetensors'), w, { tree });
      weights.set(path, w);
      models.push({ id, tree, split, classes: [`c${i}`, `c${i + 1}`], path });
    }
  }
  return { samples: treeSamples(tree, models, basePath), weights };
}

/** LoRAs on an MLP base of the same shapes as the dense trees: rank 2, alpha 3 (scale 1.5), no head. */
function loraTree(tree: string, base: Weights): Synthetic {
  const basePath = write(join(dir, tree, 'base', 'model.safetensors'), base, { role: 'base' });
  const models: ModelSample[] = [];
  const weights = new Map<string, Weights>();
  let n = 0;
  for (const [split, count] of SPLITS) {
    for (let i = 0; i < count; i++) {
      const id = `${split}-${i}`;
      const w: Weights = new Map();
      for (const [name, t] of base) {
        if (t.shape.length !== 2) continue;
        const prefix = name.slice(0, -'.weight'.length);
        w.set(`${prefix}.lora.down.weight`, { shape: [2, t.shape[1]], data: noise(2 * t.shape[1], 0.05) });
        w.set(`${prefix}.lora.up.weight`, { shape: [t.shape[0], 2], data: noise(2 * t.shape[0], 0.05) });
      }
      const path = write(join(dir, tree, split, id, 'model.safetensors'), w, { tree, rank: '2', alpha: '3' });
      weights.set(path, w);
      models.push({ id, tree, split, classes: [`class-${n++}`], path });
    }
  }
  return { samples: treeSamples(tree, models, basePath), weights };
}

let trees: Synthetic[];
let router: Router;
const samplesOf = (...splits: Split[]): ModelSample[] => trees.flatMap((t) => t.samples.models.filter((m) => splits.includes(m.split)));
const DENSE = ['alpha', 'beta', 'gamma'];

beforeAll(() => {
  const a = randomBase(MLP, 0.1);
  const b = randomBase(MLP, 0.1);
  // A close relative of alpha's base (continued pretraining): 3x further from alpha than a fine-tune from its base.
  const g: Weights = new Map([...a].map(([n, t]) => [n, { shape: t.shape, data: t.data.map((x) => x + 0.03 * gauss()) }]));
  trees = [denseTree('alpha', a, 6), denseTree('beta', b, 6), denseTree('gamma', g, 6), denseTree('other', randomBase(OTHER, 0.1), 8), loraTree('lora', randomBase(MLP, 0.1))];
  router = Router.fromTrees(trees.map((t) => t.samples));
});

describe('signature', () => {
  it('is the sorted (name, shape) list without head.*, so a base and its fine-tunes with other heads share it', () => {
    const alpha = trees[0].samples;
    const sig = signature(alpha.base!);
    expect(parseSignature(sig)).toEqual([
      ['layers.0.bias', [12]],
      ['layers.0.weight', [12, 20]],
      ['layers.1.bias', [6]],
      ['layers.1.weight', [6, 12]],
    ]);
    for (const m of alpha.models) expect(signature(m.path)).toBe(sig);
    expect(signature(trees[1].samples.models[0].path)).toBe(sig);
    expect(signature(trees[3].samples.models[0].path)).not.toBe(sig);
    // A LoRA file's signature is its adapters, not its base's weights.
    const lora = trees[4].samples;
    expect(signature(lora.models[0].path)).not.toBe(signature(lora.base!));
    expect(signature(lora.base!)).toBe(sig);
    expect(() => parseSignature('{"a":1}')).toThrow(/not a signature key/);
  });
});

describe('MoTHer distance', () => {
  it('is the element-weighted mean |a - b| over shared non-head tensors, biases included', () => {
    const [p, q] = trees[0].samples.models.slice(0, 2).map((m) => m.path);
    const wp = trees[0].weights.get(p)!;
    const wq = trees[0].weights.get(q)!;
    let sum = 0;
    let count = 0;
    for (const [name] of MLP) {
      const x = wp.get(name)!.data;
      const y = wq.get(name)!.data;
      for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
      count += x.length;
    }
    expect(motherDistance(p, q)).toBeCloseTo(sum / count, 12);
    expect(motherDistance(p, p)).toBe(0);
    // The same weights stored as F64 are at distance 0 (up to the float32 values they hold).
    const f64 = write(join(dir, 'f64', 'model.safetensors'), wp, {}, 'F64');
    expect(motherDistance(p, f64)).toBe(0);
  });

  it('compares LoRAs as their products (alpha / rank) up . down', () => {
    const [p, q] = trees[4].samples.models.slice(0, 2).map((m) => m.path);
    const delta = (w: Weights, prefix: string, rows: number, cols: number): Float64Array => {
      const up = w.get(`${prefix}.lora.up.weight`)!.data;
      const down = w.get(`${prefix}.lora.down.weight`)!.data;
      const out = new Float64Array(rows * cols);
      for (let o = 0; o < rows; o++) for (let i = 0; i < cols; i++) for (let k = 0; k < 2; k++) out[o * cols + i] += 1.5 * up[o * 2 + k] * down[k * cols + i];
      return out;
    };
    let sum = 0;
    let count = 0;
    for (const [prefix, rows, cols] of [
      ['layers.0', 12, 20],
      ['layers.1', 6, 12],
    ] as const) {
      const x = delta(trees[4].weights.get(p)!, prefix, rows, cols);
      const y = delta(trees[4].weights.get(q)!, prefix, rows, cols);
      for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
      count += x.length;
    }
    expect(motherDistance(p, q)).toBeCloseTo(sum / count, 9);
  });
});

describe('Router', () => {
  it('routes unique signatures from the header and shared ones by distance to each base', () => {
    for (const m of samplesOf('test')) {
      const r = router.route(m.path);
      expect(r.tree).toBe(m.tree);
      if (DENSE.includes(m.tree)) {
        expect(r.by).toBe('distance');
        expect(Object.keys(r.distances!).sort()).toEqual(DENSE);
        const own = r.distances![m.tree];
        for (const t of DENSE) if (t !== m.tree) expect(r.distances![t]).toBeGreaterThan(1.5 * own);
      } else {
        expect(r).toEqual({ tree: m.tree, by: 'signature' });
      }
    }
    expect(router.candidates(signature(trees[0].samples.base!))).toEqual(DENSE);
    for (const t of DENSE) expect(router.referenceKind(t)).toBe('base');
    // A base is at distance 0 from itself.
    expect(router.route(trees[2].samples.base!).distances!.gamma).toBe(0);
  });

  it('reports accuracy, method counts and the confusion matrix', () => {
    const test = samplesOf('test', 'val');
    const r = routingAccuracy(router, test);
    expect(r).toMatchObject({ accuracy: 1, correct: 20, total: 20, by: { signature: 8, distance: 12 }, failures: [] });
    for (const t of trees) expect(r.confusion[t.samples.tree]).toEqual({ [t.samples.tree]: 4 });

    // A mislabeled model and one no tree has the signature of are both misses, each in its cell.
    const alphaModel = trees[0].samples.models.find((m) => m.split === 'test')!;
    const odd = write(join(dir, 'odd', 'model.safetensors'), randomBase([['layers.0.weight', [12, 21]], ...MLP.slice(1)], 0.1));
    const bad = routingAccuracy(router, [...test, { ...alphaModel, tree: 'beta' }, { ...alphaModel, path: odd }]);
    expect(bad.total).toBe(22);
    expect(bad.correct).toBe(20);
    expect(bad.accuracy).toBeCloseTo(20 / 22, 12);
    expect(bad.confusion.beta).toEqual({ beta: 4, alpha: 1 });
    expect(bad.confusion.alpha).toEqual({ alpha: 4, [UNROUTED]: 1 });
    expect(bad.failures.map((f) => f.path)).toEqual([odd]);
    expect(routingAccuracy(router, []).accuracy).toBeNaN();
  });

  it('routes by distance to the mean of train models when the bases are unknown', () => {
    const noBases = Router.fromTrees(trees.map((t) => ({ ...t.samples, base: null })));
    for (const t of DENSE) expect(noBases.referenceKind(t)).toBe('centroid');
    const r = routingAccuracy(noBases, samplesOf('test', 'val'));
    expect(r.accuracy).toBe(1);
    expect(r.by.distance).toBe(12);
  });

  it('takes a LoRA tree`s signature from its models and never compares LoRAs with its base', () => {
    const lora = trees[4].samples;
    expect(router.trees.find((t) => t.tree === 'lora')!.signature).toBe(signature(lora.models[0].path));
    expect(router.referenceKind('lora')).toBe('centroid');
    // Without reference models a LoRA tree has nothing to measure a distance to, and says why.
    const bare = new Router([{ tree: 'lora', signature: signature(lora.models[0].path), base: lora.base }]);
    expect(() => bare.referenceKind('lora')).toThrow(/tree "lora" has no reference.*not of its models' signature/);
  });

  it('names the file and the closest signatures when no tree matches', () => {
    const odd = write(join(dir, 'odd2', 'model.safetensors'), randomBase([['layers.0.weight', [12, 21]], ...MLP.slice(1)], 0.1));
    expect(() => router.route(odd)).toThrow(odd);
    let message = '';
    try {
      router.route(odd);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('no tree has this file');
    expect(message).toMatch(/Closest: alpha, beta, gamma \(shape differs: layers\.0\.weight \[12, 21\] here vs \[12, 20\]\)/);
    const renamed = write(join(dir, 'renamed', 'model.safetensors'), randomBase([['blocks.0.attn.weight', [8, 8]], ['norm.weight', [8]]], 0.1));
    expect(() => router.route(renamed)).toThrow(/Closest: other \(lacks blocks\.0\.mlp\.weight\)/);
  });

  it('rejects duplicate trees and bad signatures', () => {
    const t = router.trees[0];
    expect(() => new Router([t, t])).toThrow(/given twice/);
    expect(() => new Router([{ ...t, signature: 'nope' }])).toThrow(/not a signature key/);
    expect(() => new Router([])).toThrow(/no trees/);
  });
});

describe('clusterByDistance', () => {
  const partition = (groups: string[][]): string[] => groups.map((g) => [...g].sort().join('\n')).sort();

  it('recovers the trees without bases, up to relabelling, with and without k', () => {
    const models = samplesOf('train', 'val', 'test');
    // A fixed shuffle, so clusters are not just runs of the input order.
    const shuffled = models.map((m, i) => ({ m, key: (i * 7919) % 101 })).sort((x, y) => x.key - y.key).map((x) => x.m);
    const paths = shuffled.map((m) => m.path);
    const truth = partition(trees.map((t) => t.samples.models.map((m) => m.path)));

    const c = clusterByDistance(paths);
    expect(c.clusters).toHaveLength(5);
    expect(partition(c.clusters)).toEqual(truth);
    expect(c.labels[0]).toBe(0);
    c.labels.forEach((l, i) => expect(c.clusters[l]).toContain(paths[i]));
    // Different signatures are infinitely far apart.
    const iLora = shuffled.findIndex((m) => m.tree === 'lora');
    const iAlpha = shuffled.findIndex((m) => m.tree === 'alpha');
    expect(c.distances[iLora][iAlpha]).toBe(Infinity);

    expect(partition(clusterByDistance(paths, 5).clusters)).toEqual(truth);
    // k = 3 = the number of signatures: the three MLP trees become one.
    expect(clusterByDistance(paths, 3).clusters.map((g) => g.length).sort((x, y) => x - y)).toEqual([9, 9, 27]);
    expect(() => clusterByDistance(paths, 2)).toThrow(/fewer than the 3 distinct signatures/);
    expect(() => clusterByDistance(paths, 0)).toThrow(/k must be/);
  });

  it('keeps a single tree whole, and a close relative apart from its origin', () => {
    for (const t of trees) expect(clusterByDistance(t.samples.models.map((m) => m.path)).clusters).toHaveLength(1);
    const alpha = trees[0].samples.models.map((m) => m.path);
    const gamma = trees[2].samples.models.map((m) => m.path);
    expect(partition(clusterByDistance([...alpha, ...gamma]).clusters)).toEqual(partition([alpha, gamma]));
    // Two models of each tree (a small test split) are still enough for trees whose bases are not close relatives
    // (gamma's centroid is only about 3 fine-tune spreads from alpha's: two models each cannot resolve that).
    const far = trees.filter((t) => t.samples.tree !== 'gamma');
    const pairs = far.map((t) => t.samples.models.filter((m) => m.split === 'test').slice(0, 2).map((m) => m.path));
    expect(partition(clusterByDistance(pairs.flat()).clusters)).toEqual(partition(pairs));
    expect(clusterByDistance([])).toEqual({ labels: [], clusters: [], distances: [] });
  });

  it('is not fooled by trees fine-tuned with steps of different sizes, nor by a far fine-tune', () => {
    // "calm" fine-tunes move 8x less than "wild" ones; one of wild's moves 2x further than the others (the tiny zoo's
    // fine-tunes range over 4x in distance to their base: about 0.5x to 1.6x their typical one).
    const make = (tree: string, step: number, extra: number[] = []): string[] => {
      const base = randomBase(MLP, 0.1);
      return [...Array.from({ length: 8 }, () => step), ...extra].map((st, i) => write(join(dir, 'steps', tree, `${i}`, 'model.safetensors'), withHead(fineTune(base, st), 3, 6)));
    };
    const calm = make('calm', 0.5);
    const wild = make('wild', 4, [8]);
    expect(clusterByDistance(wild).clusters).toHaveLength(1);
    // The two trees' own merge heights differ by 8x: a cut at the largest ratio of consecutive heights would stop after
    // calm's merges and leave wild in pieces.
    expect(partition(clusterByDistance([...wild, ...calm]).clusters)).toEqual(partition([calm, wild]));
  });
});
