// The QuickDraw loader and split helpers, and a short run of examples/mlp-quickdraw.ts: the loss must fall and the
// held-out accuracy must beat chance.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { useEngine } from './support/engine.ts';
import {
  QUICKDRAW_PIXELS,
  listQuickdrawClasses,
  loadQuickdrawClass,
  loadQuickdrawClasses,
  parseQuickdrawNdjson,
} from '../src/datasets/quickdraw.ts';
import { packRows, splitPerClass } from '../src/datasets/split.ts';
import { DEFAULT_CLASSES, trainQuickdrawMlp } from '../examples/mlp-quickdraw.ts';

const ctx = useEngine();

describe('quickdraw loader', () => {
  it('lists the bundled classes', async () => {
    const classes = await listQuickdrawClasses();
    expect(classes.length).toBeGreaterThan(100);
    expect(classes).toEqual([...classes].sort());
    for (const c of DEFAULT_CLASSES) expect(classes).toContain(c);
  });

  it('loads a class as rows of 784 floats in [0, 1]', async () => {
    const rows = await loadQuickdrawClass('apple');
    expect(rows.length).toBeGreaterThanOrEqual(100);
    let max = 0;
    for (const r of rows) {
      expect(r).toBeInstanceOf(Float32Array);
      expect(r.length).toBe(QUICKDRAW_PIXELS);
      for (const v of r) {
        expect(v >= 0 && v <= 1).toBe(true);
        max = Math.max(max, v);
      }
    }
    expect(max).toBe(1); // strokes saturate: the data really is scaled to [0, 1], not to [0, 1/255]
    expect(await loadQuickdrawClass('apple', { limit: 7 })).toHaveLength(7);
  });

  it('names valid classes when the class is unknown', async () => {
    await expect(loadQuickdrawClass('aple')).rejects.toThrow(/unknown class "aple".*"apple"/);
    await expect(loadQuickdrawClass('no such thing')).rejects.toThrow(/unknown class "no such thing".*valid classes \(\d+\) include "/);
  });

  it('reports malformed lines with the file and line number', () => {
    const good = JSON.stringify(new Array(QUICKDRAW_PIXELS).fill(0.5));
    expect(parseQuickdrawNdjson(`${good}\n\n${good}\n`, 'x.ndjson')).toHaveLength(2);
    expect(() => parseQuickdrawNdjson(`${good}\n[1,2`, 'x.ndjson')).toThrow(/x\.ndjson:2: not JSON/);
    expect(() => parseQuickdrawNdjson(`${good}\n${good}\n[0.5]`, 'y.ndjson')).toThrow(/y\.ndjson:3: 1 values, expected 784/);
    const bad = new Array(QUICKDRAW_PIXELS).fill(0);
    bad[10] = 255;
    expect(() => parseQuickdrawNdjson(JSON.stringify(bad), 'z.ndjson')).toThrow(/z\.ndjson:1: value 255 at index 10/);
    expect(() => parseQuickdrawNdjson('{"a":1}', 'w.ndjson')).toThrow(/w\.ndjson:1: expected an array/);
  });

  it('splits each class deterministically into disjoint train and test sets', async () => {
    const perClass = await loadQuickdrawClasses(['apple', 'star', 'tree']);
    const a = splitPerClass(perClass, { train: 80, test: 20, seed: 7 });
    const b = splitPerClass(perClass, { train: 80, test: 20, seed: 7 });
    const c = splitPerClass(perClass, { train: 80, test: 20, seed: 8 });
    expect(a.train.items.length).toBe(240);
    expect(a.test.items.length).toBe(60);
    expect(a.train.labels.filter((l) => l === 1)).toHaveLength(80);
    expect(a.test.labels.filter((l) => l === 2)).toHaveLength(20);
    expect(packRows(a.train.items, QUICKDRAW_PIXELS)).toEqual(packRows(b.train.items, QUICKDRAW_PIXELS));
    expect(a.test.items.every((t, i) => t === b.test.items[i])).toBe(true);
    expect(a.test.items.every((t, i) => t === c.test.items[i])).toBe(false);
    const trainSet = new Set(a.train.items);
    expect(a.test.items.some((t) => trainSet.has(t))).toBe(false);
    a.train.items.forEach((t, i) => expect(perClass[a.train.labels[i]]).toContain(t));
    expect(() => splitPerClass(perClass, { train: 90, test: 20, seed: 0 })).toThrow(/fewer than 90 train \+ 20 test/);
  });
});

describe('mlp-quickdraw example', () => {
  it('trains: the loss falls and held-out accuracy beats chance', async () => {
    const result = await trainQuickdrawMlp({ epochs: 4, batch: 32, seed: 1, readEvery: 1 });
    const { losses, classes, testAccuracy, trainAccuracy, steps } = result;
    expect(steps).toBe(4 * Math.ceil((80 * classes.length) / 32));
    expect(losses).toHaveLength(steps);
    expect(losses.every((l) => Number.isFinite(l.loss))).toBe(true);
    const mean = (xs: { loss: number }[]): number => xs.reduce((a, l) => a + l.loss, 0) / xs.length;
    const first = mean(losses.slice(0, 3));
    const last = mean(losses.slice(-10));
    expect(first).toBeGreaterThan(0.8 * Math.log(classes.length)); // starts near chance: -log(1/10)
    expect(last).toBeLessThan(0.7 * first);
    expect(result.epochLosses).toHaveLength(4);
    const chance = 1 / classes.length;
    expect(testAccuracy).toBeGreaterThan(2 * chance);
    expect(trainAccuracy).toBeGreaterThan(testAccuracy - 0.1);
    expect(ctx.engine.memory.bytesInUse).toBe(0); // the run frees its data, model and optimizer state
  });

  it('refuses bad options by name, as JSON under --json, negative numbers included', () => {
    const run = (args: string[]) => spawnSync('npx', ['tsx', 'examples/mlp-quickdraw.ts', ...args], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    const r = run(['--epochs', '-1', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout.trim())).toEqual({ error: 'mlp training: epochs must be a positive integer, got -1' });
    expect(run(['--classes', 'apple,apple']).stderr).toMatch(/class list has duplicates: apple, apple/);
    expect(run(['--hidden', '99999']).stderr).toMatch(/Unknown option '--hidden'/);
  }, 120_000);
});
