// A model file's signature: the sorted (tensor name, shape) list of its header, heads excluded (a classifier's head
// is new for every fine-tune and its size follows its classes). Trees of different architectures never share one.
import { readSafetensorsFile, type SafetensorsFileReader } from '../../node/safetensors-file.ts';
import { isHead } from '../data/layers.ts';

/** One (tensor name, shape) entry of a signature. */
export type SignatureEntry = [name: string, shape: number[]];


export function signatureEntriesOf(f: SafetensorsFileReader): SignatureEntry[] {
  return f
    .names()
    .filter((n) => !isHead(n))
    .sort()
    .map((n): SignatureEntry => [n, [...f.info(n).shape]]);
}

/** The signature key of an open file: its sorted (name, shape) list without `head.*`, as a JSON string. */
export function signatureOf(f: SafetensorsFileReader): string {
  return JSON.stringify(signatureEntriesOf(f));
}

/** The signature key of a safetensors file (reads the header only). */
export function signature(path: string): string {
  const f = readSafetensorsFile(path);
  try {
    return signatureOf(f);
  } finally {
    f.close();
  }
}

/** The entries of a signature key made by `signature`. */
export function parseSignature(key: string): SignatureEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(key);
  } catch {
    throw new Error(`not a signature key: ${key.slice(0, 80)}`);
  }
  const ok =
    Array.isArray(v) &&
    v.every((e: unknown) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && Array.isArray(e[1]) && e[1].every((d: unknown) => Number.isInteger(d)));
  if (!ok) throw new Error(`not a signature key: ${key.slice(0, 80)}`);
  return v as SignatureEntry[];
}

export const entryKey = ([name, shape]: SignatureEntry): string => `${name} [${shape.join(', ')}]`;

/** How signature `have` (a file's) differs from `want` (a tree's), in words, and a similarity in [0, 1]. */
export function compareSignatures(have: SignatureEntry[], want: SignatureEntry[]): { score: number; nameScore: number; diff: string } {
  const hk = new Set(have.map(entryKey));
  const wk = new Set(want.map(entryKey));
  const shared = [...hk].filter((k) => wk.has(k)).length;
  const score = shared / Math.max(1, hk.size + wk.size - shared);
  const hn = new Map(have);
  const wn = new Map(want);
  const sharedNames = [...hn.keys()].filter((n) => wn.has(n));
  const nameScore = sharedNames.length / Math.max(1, hn.size + wn.size - sharedNames.length);
  const list = (xs: string[]): string => xs.slice(0, 3).join(', ') + (xs.length > 3 ? `, ... (${xs.length})` : '');
  const missing = [...wn.keys()].filter((n) => !hn.has(n));
  const extra = [...hn.keys()].filter((n) => !wn.has(n));
  const reshaped = sharedNames
    .filter((n) => hn.get(n)!.join(',') !== wn.get(n)!.join(','))
    .map((n) => `${n} [${hn.get(n)!.join(', ')}] here vs [${wn.get(n)!.join(', ')}]`);
  const parts: string[] = [];
  if (missing.length) parts.push(`lacks ${list(missing)}`);
  if (extra.length) parts.push(`has extra ${list(extra)}`);
  if (reshaped.length) parts.push(`shape differs: ${list(reshaped)}`);
  return { score, nameScore, diff: parts.join('; ') || 'identical' };
}

