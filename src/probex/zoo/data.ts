// The zoo's data on the GPU: QuickDraw drawings of the fine-tuning classes (one tensor, 100 rows a class, a fixed
// 80/20 train/test split per class) and the pretraining sets of the bases (QuickDraw pretraining pool, MNIST,
// Fashion-MNIST). Everything is read from package files.
import { Tensor, tensor } from '../../core/index.ts';
import { loadQuickdrawClasses, QUICKDRAW_PIXELS, QUICKDRAW_SIZE } from '../../datasets/quickdraw.ts';
import { loadFashionMnist, loadMnist } from '../../datasets/mnist.ts';
import { permutation, seededRandom, mixSeed } from '../../datasets/split.ts';
import { SPLIT_SEED } from './classes.ts';

export const DRAWINGS_PER_CLASS = 100;
export const TRAIN_PER_CLASS = 80;

/** Drawings of a list of classes, uploaded once; rows of class c are c*100 .. c*100+99. */
export interface DrawingSet {
  classes: string[];
  images: Tensor;
  /** Row indices of class c's training (80) and test (20) drawings. */
  train(c: number): Int32Array;
  test(c: number): Int32Array;
  dispose(): void;
}

/** Binomial kernel of an odd width (5: [1, 4, 6, 4, 1] / 16), normalized to sum 1. */
export function binomialKernel(width: number): number[] {
  if (!Number.isInteger(width) || width < 1 || width % 2 === 0) throw new Error(`zoo: smoothing width must be an odd positive integer, got ${width}`);
  let k = [1];
  for (let i = 1; i < width; i++) k = [...k, 0].map((v, j) => v + (j > 0 ? k[j - 1] : 0));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
}

/** Each 28x28 row of `images` convolved with a separable binomial kernel (zero outside the image), in place;
 * width 0 or 1 leaves the images unchanged. */
export function smoothImages(images: Float32Array, width: number): Float32Array {
  if (width <= 1) return images;
  const k = binomialKernel(width);
  const h = k.length >> 1;
  const side = QUICKDRAW_SIZE;
  const tmp = new Float32Array(QUICKDRAW_PIXELS);
  for (let at = 0; at < images.length; at += QUICKDRAW_PIXELS) {
    const img = images.subarray(at, at + QUICKDRAW_PIXELS);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        let s = 0;
        for (let j = -h; j <= h; j++) if (x + j >= 0 && x + j < side) s += k[j + h] * img[y * side + x + j];
        tmp[y * side + x] = s;
      }
    }
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        let s = 0;
        for (let j = -h; j <= h; j++) if (y + j >= 0 && y + j < side) s += k[j + h] * tmp[(y + j) * side + x];
        img[y * side + x] = s;
      }
    }
  }
  return images;
}

/** `smoothing`: width of a binomial blur applied to every drawing (0: none); see the LoRA tree's spec. */
export async function loadDrawingSet(classes: readonly string[], smoothing = 0): Promise<DrawingSet> {
  const per = await loadQuickdrawClasses(classes);
  const flat = new Float32Array(classes.length * DRAWINGS_PER_CLASS * QUICKDRAW_PIXELS);
  per.forEach((rows, c) => {
    if (rows.length < DRAWINGS_PER_CLASS) throw new Error(`zoo: class "${classes[c]}" has ${rows.length} drawings, need ${DRAWINGS_PER_CLASS}`);
    rows.slice(0, DRAWINGS_PER_CLASS).forEach((r, i) => flat.set(r, (c * DRAWINGS_PER_CLASS + i) * QUICKDRAW_PIXELS));
  });
  const images = tensor(smoothImages(flat, smoothing), [classes.length * DRAWINGS_PER_CLASS, QUICKDRAW_PIXELS]);
  // A class's split depends only on its name, so the same drawings are held out whichever set loads the class.
  const orders = classes.map((name) => permutation(DRAWINGS_PER_CLASS, seededRandom(mixSeed(SPLIT_SEED, hashName(name)))));
  const rows = (c: number, from: number, to: number): Int32Array => Int32Array.from(orders[c].slice(from, to), (i) => c * DRAWINGS_PER_CLASS + i);
  return {
    classes: [...classes],
    images,
    train: (c) => rows(c, 0, TRAIN_PER_CLASS),
    test: (c) => rows(c, TRAIN_PER_CLASS, DRAWINGS_PER_CLASS),
    dispose: () => images.dispose(),
  };
}

/** FNV-1a of a string: a stable per-name seed. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export type PretrainSource = 'quickdraw' | 'mnist' | 'fashion';

/** A labelled pretraining set on the GPU with a train/test split of row indices. */
export interface PretrainSet {
  source: PretrainSource;
  classes: string[];
  images: Tensor;
  trainItems: Int32Array;
  trainLabels: Int32Array;
  testItems: Int32Array;
  testLabels: Int32Array;
  dispose(): void;
}

/** `perClass` caps the examples per class (QuickDraw has 100; MNIST-like sets about 6,000). */
export async function loadPretrainSet(source: PretrainSource, quickdrawClasses: readonly string[], perClass: number, smoothing = 0): Promise<PretrainSet> {
  let images: Float32Array;
  let labels: Int32Array;
  let classes: string[];
  if (source === 'quickdraw') {
    const set = await loadQuickdrawClasses(quickdrawClasses);
    const take = Math.min(perClass, DRAWINGS_PER_CLASS);
    classes = [...quickdrawClasses];
    images = new Float32Array(classes.length * take * QUICKDRAW_PIXELS);
    labels = new Int32Array(classes.length * take);
    set.forEach((rows, c) => {
      for (let i = 0; i < take; i++) {
        images.set(rows[i], (c * take + i) * QUICKDRAW_PIXELS);
        labels[c * take + i] = c;
      }
    });
  } else {
    const all = source === 'mnist' ? loadMnist('train') : loadFashionMnist('train');
    classes = all.classes;
    const counts = new Array<number>(classes.length).fill(0);
    const keepRows: number[] = [];
    for (let i = 0; i < all.count; i++) {
      if (counts[all.labels[i]] < perClass) {
        counts[all.labels[i]]++;
        keepRows.push(i);
      }
    }
    images = new Float32Array(keepRows.length * QUICKDRAW_PIXELS);
    labels = new Int32Array(keepRows.length);
    keepRows.forEach((r, j) => {
      images.set(all.images.subarray(r * QUICKDRAW_PIXELS, (r + 1) * QUICKDRAW_PIXELS), j * QUICKDRAW_PIXELS);
      labels[j] = all.labels[r];
    });
  }
  const n = labels.length;
  const order = permutation(n, seededRandom(SPLIT_SEED + 7));
  const cut = Math.floor(n * 0.9);
  const pick = (from: number, to: number): [Int32Array, Int32Array] => {
    const idx = Int32Array.from(order.slice(from, to));
    return [idx, Int32Array.from(idx, (i) => labels[i])];
  };
  const [trainItems, trainLabels] = pick(0, cut);
  const [testItems, testLabels] = pick(cut, n);
  const t = tensor(smoothImages(images, smoothing), [n, QUICKDRAW_PIXELS]);
  return { source, classes, images: t, trainItems, trainLabels, testItems, testLabels, dispose: () => t.dispose() };
}
