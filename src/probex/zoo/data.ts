// The zoo's data on the GPU: QuickDraw drawings of the fine-tuning classes (one tensor, 100 rows a class, a fixed
// 80/20 train/test split per class) and the pretraining sets of the bases (QuickDraw pretraining pool, MNIST,
// Fashion-MNIST). Everything is read from package files.
import { Tensor, tensor } from '../../core/index.ts';
import { loadQuickdrawClasses, QUICKDRAW_PIXELS } from '../../datasets/quickdraw.ts';
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

export async function loadDrawingSet(classes: readonly string[]): Promise<DrawingSet> {
  const per = await loadQuickdrawClasses(classes);
  const flat = new Float32Array(classes.length * DRAWINGS_PER_CLASS * QUICKDRAW_PIXELS);
  per.forEach((rows, c) => {
    if (rows.length < DRAWINGS_PER_CLASS) throw new Error(`zoo: class "${classes[c]}" has ${rows.length} drawings, need ${DRAWINGS_PER_CLASS}`);
    rows.slice(0, DRAWINGS_PER_CLASS).forEach((r, i) => flat.set(r, (c * DRAWINGS_PER_CLASS + i) * QUICKDRAW_PIXELS));
  });
  const images = tensor(flat, [classes.length * DRAWINGS_PER_CLASS, QUICKDRAW_PIXELS]);
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
export async function loadPretrainSet(source: PretrainSource, quickdrawClasses: readonly string[], perClass: number): Promise<PretrainSet> {
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
  const t = tensor(images, [n, QUICKDRAW_PIXELS]);
  return { source, classes, images: t, trainItems, trainLabels, testItems, testLabels, dispose: () => t.dispose() };
}
