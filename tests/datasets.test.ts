// The dataset readers' file handling, without a GPU: idx bytes written and read back, the leading-rows subset that the
// GPU data pack ships (scripts/gpu/data-pack.ts) selecting the same examples as the whole file, and the PROBEX_*_DIR
// overrides that point the loaders at such a pack.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdx } from '../src/datasets/idx.ts';
import { leadingRowsWithPerClass } from '../src/datasets/subset.ts';
import { loadFashionMnist, loadMnist } from '../src/datasets/mnist.ts';

const dirs: string[] = [];
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'datasets-'));
  dirs.push(d);
  return d;
};

describe('idx files', () => {
  it('round-trip through encodeIdx and parseIdx, plain and gzipped', () => {
    const data = Uint8Array.from({ length: 3 * 2 * 5 }, (_, i) => (i * 37) % 256);
    const bytes = encodeIdx([3, 2, 5], data);
    expect(parseIdx(bytes, 'x')).toEqual({ dims: [3, 2, 5], data });
    const dir = tmp();
    writeFileSync(join(dir, 'a.gz'), gzipSync(bytes));
    const back = readIdx(join(dir, 'a.gz'));
    expect([back.dims, [...back.data]]).toEqual([[3, 2, 5], [...data]]);
    expect(() => encodeIdx([2, 2], new Uint8Array(3))).toThrow(/need 4 bytes, got 3/);
  });
});

describe('the leading rows that hold the first N of every class', () => {
  it('is the shortest prefix from which first-N-per-class picks the same rows as from the whole set', () => {
    const labels = [0, 1, 0, 2, 2, 1, 0, 2, 1, 1, 0];
    const pick = (ls: number[], n: number): number[] => {
      const counts = new Map<number, number>();
      return ls.flatMap((l, i) => {
        const c = counts.get(l) ?? 0;
        counts.set(l, c + 1);
        return c < n ? [i] : [];
      });
    };
    for (const n of [1, 2, 3, 5]) {
      const rows = leadingRowsWithPerClass(labels, n);
      expect(pick(labels.slice(0, rows), n), `n=${n}`).toEqual(pick(labels, n));
      expect(pick(labels.slice(0, rows - 1), n), `n=${n}`).not.toEqual(pick(labels, n));
    }
    expect(leadingRowsWithPerClass(labels, 100)).toBe(labels.length);
    expect(leadingRowsWithPerClass([], 3)).toBe(0);
  });
});

describe('data folders from the environment', () => {
  function writeSet(dir: string, gz: boolean): void {
    const n = 4;
    const images = Uint8Array.from({ length: n * 28 * 28 }, (_, i) => i % 256);
    const labels = Uint8Array.from([3, 1, 4, 1]);
    const write = (name: string, bytes: Uint8Array): void => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
    write('train-images-idx3-ubyte', encodeIdx([n, 28, 28], images));
    write('train-labels-idx1-ubyte', encodeIdx([n], labels));
  }

  it('PROBEX_MNIST_DIR and PROBEX_FASHION_MNIST_DIR point the loaders at other folders, gzipped or not', () => {
    const m = tmp();
    const f = tmp();
    writeSet(m, true);
    writeSet(f, false);
    process.env.PROBEX_MNIST_DIR = m;
    process.env.PROBEX_FASHION_MNIST_DIR = f;
    const mnist = loadMnist('train');
    expect([mnist.count, [...mnist.labels]]).toEqual([4, [3, 1, 4, 1]]);
    expect(mnist.images[785]).toBeCloseTo(((784 + 1) % 256) / 255, 7);
    const fashion = loadFashionMnist('train');
    expect([fashion.count, fashion.classes[3]]).toEqual([4, 'Dress']);
  });

  it('a folder without the files is an error naming both names tried and the variable', () => {
    process.env.PROBEX_MNIST_DIR = tmp();
    expect(() => loadMnist('train')).toThrow(/PROBEX_MNIST_DIR.*train-images-idx3-ubyte nor .*train-images-idx3-ubyte\.gz exists/);
  });
});
