// Summary statistics of a model's weight tensors (mean, variance, quantiles 0/25/50/75/100, L2 norm), the input of
// the StatNN baseline (Unterthiner et al., 2020); read tensor by tensor from the model's file.
import { statSync } from 'node:fs';
import { readSafetensorsFile } from '../../node/safetensors-file.ts';

export const STAT_NAMES = ['mean', 'var', 'q0', 'q25', 'q50', 'q75', 'q100', 'norm'];

/** Rearranges a[lo..hi] so that a[k] holds the value a full sort would put there, smaller-or-equal values before it
 * and greater-or-equal after (Hoare's selection with a median-of-three pivot; linear time on average). */
function select(a: Float32Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot, which also keeps sorted and constant runs from the quadratic case.
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) swap(a, i++, j--);
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Quantiles (linear interpolation between order statistics, as numpy's default) of a copy of v, with selection
 * instead of a full sort: a layer's hundreds of thousands of weights per model made sorting StatNN's main cost. */
export function quantiles(v: Float32Array, qs: readonly number[]): number[] {
  const a = Float32Array.from(v);
  const n = a.length;
  const at = (k: number): number => {
    select(a, k, 0, n - 1);
    return a[k];
  };
  return qs.map((q) => {
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const v0 = at(lo);
    if (lo === pos || lo + 1 >= n) return v0;
    // The next order statistic is the smallest value after position lo.
    let v1 = Infinity;
    for (let i = lo + 1; i < n; i++) if (a[i] < v1) v1 = a[i];
    return v0 + (v1 - v0) * (pos - lo);
  });
}

export function tensorStats(v: Float32Array): number[] {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < v.length; i++) {
    s += v[i];
    s2 += v[i] * v[i];
  }
  const mean = s / v.length;
  // A NaN weight makes every statistic NaN (selection would return arbitrary order statistics around it).
  if (Number.isNaN(s2)) return new Array<number>(STAT_NAMES.length).fill(NaN);
  return [mean, Math.max(0, s2 / v.length - mean * mean), ...quantiles(v, [0, 0.25, 0.5, 0.75, 1]), Math.sqrt(s2)];
}

/** Features already computed in this process, by file (and its size and time, so a rewritten file is read again):
 * train and eval take the same models' statistics once per split seed. */
const cache = new Map<string, { names: string[]; values: Float32Array }>();

/** Statistics of every tensor of a model file except the classifier head (new for every fine-tune), in name order. */
export function statFeatures(path: string): { names: string[]; values: Float32Array } {
  const st = statSync(path);
  const key = `${path}|${st.size}|${st.mtimeMs}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const f = readSafetensorsFile(path);
  try {
    const names = f.names().filter((n) => !n.startsWith('head.')).sort();
    if (names.length === 0) throw new Error(`${path}: no tensors to take statistics of`);
    const out = { names, values: Float32Array.from(names.flatMap((n) => tensorStats(f.readF32(n)))) };
    cache.set(key, out);
    return out;
  } finally {
    f.close();
  }
}
