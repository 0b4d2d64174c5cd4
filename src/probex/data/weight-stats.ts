// Summary statistics of a model's weight tensors (mean, variance, quantiles 0/25/50/75/100, L2 norm), the input of
// the StatNN baseline (Unterthiner et al., 2020); read tensor by tensor from the model's file.
import { readSafetensorsFile } from '../../node/safetensors-file.ts';

export const STAT_NAMES = ['mean', 'var', 'q0', 'q25', 'q50', 'q75', 'q100', 'norm'];

function quantile(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function tensorStats(v: Float32Array): number[] {
  let s = 0;
  let s2 = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
  }
  const mean = s / v.length;
  const sorted = Float32Array.from(v).sort();
  return [mean, Math.max(0, s2 / v.length - mean * mean), ...[0, 0.25, 0.5, 0.75, 1].map((q) => quantile(sorted, q)), Math.sqrt(s2)];
}

/** Statistics of every tensor of a model file except the classifier head (new for every fine-tune), in name order. */
export function statFeatures(path: string): { names: string[]; values: Float32Array } {
  const f = readSafetensorsFile(path);
  try {
    const names = f.names().filter((n) => !n.startsWith('head.')).sort();
    if (names.length === 0) throw new Error(`${path}: no tensors to take statistics of`);
    return { names, values: Float32Array.from(names.flatMap((n) => tensorStats(f.readF32(n)))) };
  } finally {
    f.close();
  }
}
