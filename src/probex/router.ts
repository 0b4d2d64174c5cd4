// The router: which tree does an unseen model belong to? A ProbeX expert is trained per tree, so a model found in the
// wild has to be sent to the right expert first. Two steps, cheapest first:
//
// 1. Signature. The sorted (tensor name, shape) list of the file, `head.*` excluded (a classifier's head is new for
//    every fine-tune and its size follows its classes). Trees of different architectures never share a signature, so
//    most models are routed from the file header alone.
// 2. Weight distance (MoTHer-style), only among the trees that share the model's signature (e.g. bases that differ by
//    pretraining data or only by seed): the mean absolute difference of the weights to each tree's reference,
//       D(a, b) = sum over shared tensors t, entries i of |a_ti - b_ti|  /  number of entries summed,
//    over every non-head float tensor the two share (same name and size), biases included, summed in float64. A
//    fine-tune stays close to the base it was tuned from; bases are far from one another (different data or seed).
//    The model file is read one tensor at a time; the references are read once and kept in memory (one model's
//    weights per tree that shares a signature with another).
//
// A tree's reference is its base file when known and of the tree's signature. Otherwise it is the element-wise mean
// of a few known models of the tree (its train split): fine-tunes scatter around their base, so their mean estimates
// it (better than any single fine-tune would).
//
// LoRA trees. A LoRA file holds only the adapters (`*.lora.down.weight`, `*.lora.up.weight`), not the base weights
// they are added to, so (a) the tree's signature is taken from one of its models, not from its base, and (b) the
// MoTHer distance to a base is not computable from the file: with W = W_base + dW, |W - W_base| = |dW| whichever base
// of that shape is asked, so the distance to a base carries no information about which base it was. A LoRA pair is
// therefore compared as its product dW = (alpha / rank) up . down (one "tensor" named `<prefix>.lora`; alpha from the
// file's metadata, 1 when absent) against the mean dW of the tree's known LoRAs. In practice LoRA signatures are
// unique to their tree (the tiny zoo has one LoRA tree), and then no distance is computed at all.
//
// Without bases at all, `clusterByDistance` groups models by signature, then by average-linkage clustering of their
// pairwise MoTHer distances, cut at k clusters or, without k, where two clusters' centroids separate by more than
// their spread explains (see there for the test and the cost).
import { readSafetensorsFile, type SafetensorsFileReader } from '../node/safetensors-file.ts';
import type { SafeDType } from '../core/io/safetensors.ts';
import { LORA_SUFFIX, readLayerFrom } from './data/layers.ts';
import type { Split } from './zoo/layout.ts';
import type { ModelSample, TreeSamples } from './data/samples.ts';

const HEAD = 'head.';
const DOWN = '.lora.down.weight';
const UP = '.lora.up.weight';
const FLOAT: ReadonlySet<SafeDType> = new Set<SafeDType>(['F32', 'F16', 'BF16', 'F64']);

type Vec = Float32Array | Float64Array;

// ---------------------------------------------------------------------------------------------------------------
// Signatures

/** One (tensor name, shape) entry of a signature. */
export type SignatureEntry = [name: string, shape: number[]];

const isHead = (name: string): boolean => name.startsWith(HEAD);

function signatureEntriesOf(f: SafetensorsFileReader): SignatureEntry[] {
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

const entryKey = ([name, shape]: SignatureEntry): string => `${name} [${shape.join(', ')}]`;

/** How signature `have` (a file's) differs from `want` (a tree's), in words, and a similarity in [0, 1]. */
function compareSignatures(have: SignatureEntry[], want: SignatureEntry[]): { score: number; nameScore: number; diff: string } {
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

// ---------------------------------------------------------------------------------------------------------------
// The tensors a distance is taken over

interface Comparable {
  /** A tensor name, or `<prefix>.lora` for a LoRA pair (compared as its product). */
  name: string;
  size: number;
  read(): Vec;
}

function readFloat(f: SafetensorsFileReader, name: string): Vec {
  const e = f.info(name);
  if (e.dtype !== 'F64') return f.readF32(name);
  const bytes = f.readBytes(name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

/** dW = (alpha / rank) up . down in float64; alpha from the file's metadata (PEFT's convention), else scale 1. */
function loraDelta(f: SafetensorsFileReader, prefix: string): Float64Array {
  const m = readLayerFrom(f, `${prefix}${LORA_SUFFIX}`);
  if (m.kind !== 'lora') throw new Error(`${f.path}: "${prefix}" is not a LoRA pair`);
  const alpha = Number(f.metadata.alpha);
  const scale = f.metadata.alpha !== undefined && Number.isFinite(alpha) ? alpha / m.rank : 1;
  const out = new Float64Array(m.rows * m.cols);
  for (let o = 0; o < m.rows; o++) {
    for (let k = 0; k < m.rank; k++) {
      const u = scale * m.up[o * m.rank + k];
      if (u === 0) continue;
      const row = k * m.cols;
      const at = o * m.cols;
      for (let i = 0; i < m.cols; i++) out[at + i] += u * m.down[row + i];
    }
  }
  return out;
}

/** The float tensors of a file a distance is taken over, in name order: `head.*` excluded, integer tensors skipped
 * (buffers such as position ids), each LoRA pair as one product. */
function comparables(f: SafetensorsFileReader): Comparable[] {
  const names = f.names();
  const has = new Set(names);
  const out: Comparable[] = [];
  for (const name of [...names].sort()) {
    if (isHead(name)) continue;
    if (name.endsWith(DOWN) || name.endsWith(UP)) {
      const prefix = name.slice(0, -(name.endsWith(DOWN) ? DOWN : UP).length);
      const down = `${prefix}${DOWN}`;
      const up = `${prefix}${UP}`;
      if (!has.has(down) || !has.has(up)) throw new Error(`${f.path}: LoRA tensor "${name}" has no matching "${has.has(down) ? up : down}"`);
      if (name === up) continue; // handled with its down
      const size = f.info(up).shape[0] * f.info(down).shape[1];
      out.push({ name: `${prefix}${LORA_SUFFIX}`, size, read: () => loraDelta(f, prefix) });
    } else if (FLOAT.has(f.info(name).dtype)) {
      out.push({ name, size: f.info(name).shape.reduce((a, b) => a * b, 1), read: () => readFloat(f, name) });
    }
  }
  return out;
}

function absDiffSum(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
}

/** The MoTHer distance between two model files: mean |a - b| over the non-head float tensors they share (same name
 * and size; LoRA pairs as their products). Reads one tensor of each at a time. */
export function motherDistance(a: string, b: string): number {
  const fa = readSafetensorsFile(a);
  try {
    const fb = readSafetensorsFile(b);
    try {
      const cb = new Map(comparables(fb).map((c) => [c.name, c]));
      let sum = 0;
      let count = 0;
      for (const ca of comparables(fa)) {
        const other = cb.get(ca.name);
        if (!other || other.size !== ca.size) continue;
        sum += absDiffSum(ca.read(), other.read());
        count += ca.size;
      }
      if (count === 0) throw new Error(`${a} and ${b} share no non-head float tensor of the same name and size: no weight distance`);
      return sum / count;
    } finally {
      fb.close();
    }
  } finally {
    fa.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The router

/** One tree as the router knows it. */
export interface TreeRoute {
  tree: string;
  /** The signature of the tree's models (`signature(path)` of one of them). */
  signature: string;
  /** The tree's base file, or null when unknown. */
  base: string | null;
  /** Known models of the tree (e.g. its train split). Their element-wise mean is the distance reference when the base
   * is unknown or not of the tree's signature (LoRA trees). Only read when a distance to this tree is needed. */
  references?: string[];
}

export interface RouteResult {
  tree: string;
  by: 'signature' | 'distance';
  /** By distance: the MoTHer distance to each candidate tree's reference. */
  distances?: Record<string, number>;
}

export interface FromTreesOptions {
  /** Splits whose models may stand in for an unknown base (default: train only, so test models stay unseen). */
  referenceSplits?: readonly Split[];
  /** At most this many of them (default 16; each is read in full once). */
  maxReferences?: number;
}

interface Reference {
  kind: 'base' | 'centroid';
  tensors: Map<string, Vec>;
}

export class Router {
  readonly trees: readonly TreeRoute[];
  private readonly bySignature = new Map<string, TreeRoute[]>();
  private readonly refs = new Map<string, Reference>();

  constructor(trees: readonly TreeRoute[]) {
    if (trees.length === 0) throw new Error('router: no trees');
    const seen = new Set<string>();
    for (const t of trees) {
      if (seen.has(t.tree)) throw new Error(`router: tree "${t.tree}" given twice`);
      seen.add(t.tree);
      parseSignature(t.signature);
      const list = this.bySignature.get(t.signature) ?? [];
      list.push(t);
      this.bySignature.set(t.signature, list);
    }
    this.trees = [...trees];
  }

  /** A router over a zoo's trees: each tree's signature from its first train model, its base when known, and up to
   * `maxReferences` train models as the fallback distance reference. */
  static fromTrees(trees: readonly TreeSamples[], opts: FromTreesOptions = {}): Router {
    const splits = opts.referenceSplits ?? ['train'];
    const max = opts.maxReferences ?? 16;
    return new Router(
      trees.map((t): TreeRoute => {
        const train = t.models.filter((m) => m.split === 'train');
        const first = train[0] ?? t.models[0];
        if (!first) throw new Error(`router: tree "${t.tree}" has no models to take its signature from`);
        const references = t.models.filter((m) => splits.includes(m.split)).slice(0, max).map((m) => m.path);
        return { tree: t.tree, signature: signature(first.path), base: t.base, references };
      }),
    );
  }

  /** The trees that share a signature, in the order given. */
  candidates(sig: string): string[] {
    return (this.bySignature.get(sig) ?? []).map((t) => t.tree);
  }

  /** Which reference a distance to this tree uses: its base, or the mean of its reference models. */
  referenceKind(tree: string): 'base' | 'centroid' {
    return this.reference(this.treeRoute(tree)).kind;
  }

  /** The tree of a model file: by signature when one tree has it, else the nearest reference among the trees that
   * do. Throws, naming the file and the closest signatures, when no tree has it. */
  route(path: string): RouteResult {
    const f = readSafetensorsFile(path);
    try {
      const sig = signatureOf(f);
      const cands = this.bySignature.get(sig);
      if (!cands) throw new Error(this.unknownSignature(path, sig));
      if (cands.length === 1) return { tree: cands[0].tree, by: 'signature' };
      const refs = cands.map((c) => this.reference(c));
      const sums = cands.map(() => 0);
      const counts = cands.map(() => 0);
      for (const c of comparables(f)) {
        const x = c.read();
        refs.forEach((r, k) => {
          const y = r.tensors.get(c.name);
          if (!y || y.length !== x.length) return;
          sums[k] += absDiffSum(x, y);
          counts[k] += x.length;
        });
      }
      const distances: Record<string, number> = {};
      let best = -1;
      cands.forEach((c, k) => {
        if (counts[k] === 0) throw new Error(`${path}: shares no float tensor with the reference of tree "${c.tree}": no weight distance`);
        distances[c.tree] = sums[k] / counts[k];
        if (best < 0 || distances[c.tree] < distances[cands[best].tree]) best = k;
      });
      return { tree: cands[best].tree, by: 'distance', distances };
    } finally {
      f.close();
    }
  }

  private treeRoute(tree: string): TreeRoute {
    const t = this.trees.find((x) => x.tree === tree);
    if (!t) throw new Error(`router: no tree "${tree}" (has ${this.trees.map((x) => x.tree).join(', ')})`);
    return t;
  }

  /** The tree's distance reference, built on first use and kept. */
  private reference(t: TreeRoute): Reference {
    const cached = this.refs.get(t.tree);
    if (cached) return cached;
    let ref: Reference | null = null;
    if (t.base !== null) {
      const f = readSafetensorsFile(t.base);
      try {
        if (signatureOf(f) === t.signature) ref = { kind: 'base', tensors: new Map(comparables(f).map((c) => [c.name, c.read()])) };
      } finally {
        f.close();
      }
    }
    if (!ref) {
      const paths = t.references ?? [];
      if (paths.length === 0) {
        throw new Error(
          `router: tree "${t.tree}" has no reference for weight distances: ${t.base === null ? 'its base is unknown' : `its base ${t.base} is not of its models' signature (a LoRA tree?)`} and no reference models were given`,
        );
      }
      const acc = new Map<string, Float64Array>();
      for (const p of paths) {
        const f = readSafetensorsFile(p);
        try {
          if (signatureOf(f) !== t.signature) throw new Error(`router: reference model ${p} of tree "${t.tree}" is not of the tree's signature`);
          for (const c of comparables(f)) {
            const x = c.read();
            let s = acc.get(c.name);
            if (!s) acc.set(c.name, (s = new Float64Array(x.length)));
            for (let i = 0; i < x.length; i++) s[i] += x[i];
          }
        } finally {
          f.close();
        }
      }
      for (const s of acc.values()) for (let i = 0; i < s.length; i++) s[i] /= paths.length;
      ref = { kind: 'centroid', tensors: acc };
    }
    this.refs.set(t.tree, ref);
    return ref;
  }

  private unknownSignature(path: string, sig: string): string {
    const have = parseSignature(sig);
    const ranked = [...this.bySignature.entries()]
      .map(([key, trees]) => ({ trees: trees.map((t) => t.tree), ...compareSignatures(have, parseSignature(key)) }))
      .sort((a, b) => b.score - a.score || b.nameScore - a.nameScore);
    const closest = ranked
      .slice(0, 3)
      .map((r) => `${r.trees.join(', ')} (${r.diff})`)
      .join('; ');
    return `${path}: no tree has this file's signature (${have.length} tensors, head.* excluded: ${have.slice(0, 3).map(entryKey).join(', ')}${have.length > 3 ? ', ...' : ''}). Closest: ${closest}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Routing accuracy

/** The predicted "tree" of a model the router could not route (its error is in `failures`). */
export const UNROUTED = '(unrouted)';

export interface RoutingReport {
  /** correct / total (NaN when there are no samples). */
  accuracy: number;
  correct: number;
  total: number;
  /** How many models were routed by signature alone and how many by distance. */
  by: { signature: number; distance: number };
  /** confusion[true tree][predicted tree] = count; a model that could not be routed is predicted `UNROUTED`. */
  confusion: Record<string, Record<string, number>>;
  failures: { path: string; error: string }[];
}

/** Routes every sample and scores it against its `tree`. */
export function routingAccuracy(router: Router, samples: readonly ModelSample[]): RoutingReport {
  const confusion: Record<string, Record<string, number>> = {};
  const failures: { path: string; error: string }[] = [];
  const by = { signature: 0, distance: 0 };
  let correct = 0;
  for (const s of samples) {
    let predicted: string;
    try {
      const r = router.route(s.path);
      predicted = r.tree;
      by[r.by]++;
    } catch (e) {
      predicted = UNROUTED;
      failures.push({ path: s.path, error: e instanceof Error ? e.message : String(e) });
    }
    const row = (confusion[s.tree] ??= {});
    row[predicted] = (row[predicted] ?? 0) + 1;
    if (predicted === s.tree) correct++;
  }
  return { accuracy: samples.length ? correct / samples.length : NaN, correct, total: samples.length, by, confusion, failures };
}

// ---------------------------------------------------------------------------------------------------------------
// Clustering when bases are unknown

interface Pairwise {
  /** Mean |a - b| (the MoTHer distance). */
  abs: number[][];
  /** Mean (a - b)^2, for the split test (sums of squares decompose about centroids; absolute values do not). */
  sq: number[][];
}

function pairwise(paths: readonly string[]): Pairwise {
  const init = (): number[][] => paths.map((_, i) => paths.map((__, j) => (i === j ? 0 : Infinity)));
  const abs = init();
  const sq = init();
  const groups = new Map<string, number[]>();
  paths.forEach((p, i) => {
    const sig = signature(p);
    const g = groups.get(sig) ?? [];
    g.push(i);
    groups.set(sig, g);
  });
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const files: SafetensorsFileReader[] = [];
    try {
      for (const i of members) files.push(readSafetensorsFile(paths[i]));
      const comps = files.map(comparables);
      const m = members.length;
      const sumAbs = new Float64Array(m * m);
      const sumSq = new Float64Array(m * m);
      let count = 0;
      comps[0].forEach((c, t) => {
        const xs = comps.map((cs, k) => {
          const ct = cs[t];
          if (!ct || ct.name !== c.name || ct.size !== c.size) throw new Error(`${paths[members[k]]}: tensor list differs from ${paths[members[0]]} despite the same signature`);
          return ct.read();
        });
        for (let a = 0; a < m; a++) {
          const x = xs[a];
          for (let b = a + 1; b < m; b++) {
            const y = xs[b];
            let s1 = 0;
            let s2 = 0;
            for (let i = 0; i < x.length; i++) {
              const d = x[i] - y[i];
              s1 += Math.abs(d);
              s2 += d * d;
            }
            sumAbs[a * m + b] += s1;
            sumSq[a * m + b] += s2;
          }
        }
        count += c.size;
      });
      if (count === 0) throw new Error(`${paths[members[0]]}: no float tensors to compare (head.* excluded)`);
      for (let a = 0; a < m; a++) {
        for (let b = a + 1; b < m; b++) {
          const [i, j] = [members[a], members[b]];
          abs[i][j] = abs[j][i] = sumAbs[a * m + b] / count;
          sq[i][j] = sq[j][i] = sumSq[a * m + b] / count;
        }
      }
    } finally {
      for (const f of files) f.close();
    }
  }
  return { abs, sq };
}

/**
 * Pairwise MoTHer distances among files; Infinity between files of different signatures (never the same tree).
 * Streams per tensor: for each tensor name, that tensor of every file of a signature group is read (once per file),
 * and all pairs are accumulated. Memory: one tensor per file of the group (n x the largest tensor) and all files open
 * at once; time: O(n^2 x parameters) arithmetic plus one read of each file. Fine for hundreds of models of up to some
 * 10^8 parameters; beyond that, route against known bases (`Router`), which is O(n x parameters).
 */
export function pairwiseDistances(paths: readonly string[]): number[][] {
  return pairwise(paths).abs;
}

interface Merge {
  /** The representative (lowest-indexed surviving member) of the two clusters; b is merged into a. */
  a: number;
  b: number;
  height: number;
}

/** Average-linkage (UPGMA) agglomeration by Lance-Williams updates; stops when only infinite distances remain. O(n^3),
 * deterministic (the first closest pair in row-major order merges; ties go to the lower indices). Average linkage is
 * monotone: heights never decrease. */
function averageLinkage(D: readonly number[][]): Merge[] {
  const n = D.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = D[i][j];
  const size = new Array<number>(n).fill(1);
  const alive = new Array<boolean>(n).fill(true);
  const merges: Merge[] = [];
  for (;;) {
    let bi = -1;
    let bj = -1;
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue;
      for (let j = i + 1; j < n; j++) {
        if (alive[j] && d[i * n + j] < best) {
          best = d[i * n + j];
          bi = i;
          bj = j;
        }
      }
    }
    if (bi < 0) return merges;
    for (let k = 0; k < n; k++) {
      if (!alive[k] || k === bi || k === bj) continue;
      const v = (size[bi] * d[bi * n + k] + size[bj] * d[bj * n + k]) / (size[bi] + size[bj]);
      d[bi * n + k] = d[k * n + bi] = v;
    }
    size[bi] += size[bj];
    alive[bj] = false;
    merges.push({ a: bi, b: bj, height: best });
  }
}

/** Cluster ids after applying `merges`, numbered by first appearance (item 0 is in cluster 0). */
function labelsAfter(n: number, merges: readonly Merge[]): number[] {
  const parent = Array.from({ length: n }, (_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  for (const m of merges) parent[root(m.b)] = root(m.a);
  const ids = new Map<number, number>();
  return parent.map((_, i) => {
    const r = root(i);
    if (!ids.has(r)) ids.set(r, ids.size);
    return ids.get(r)!;
  });
}

/**
 * The separation of two clusters L and R from the mean squared differences S: how many standard errors apart their
 * centroids are, squared,
 *   T = |mu_L - mu_R|^2 / (sigma^2 (1/n_L + 1/n_R)),
 * with |mu_L - mu_R|^2 = mean_{i in L, j in R} S_ij - s_L - s_R (s = mean squared distance to the own centroid =
 * sum_{i,j in P} S_ij / (2 n^2)) and sigma^2 the pooled within-cluster variance (n_L s_L + n_R s_R) / (n_L + n_R - 2).
 * About 1 for two parts of one tree: fine-tunes scatter around their base in independent directions, so the means of
 * any two groups of them (even "low" and "high" learning rates) are about as far apart as chance makes them; it grows
 * with the parts' sizes for two trees, whose centroids sit at their two bases. NaN when both are single models (no
 * spread to compare with). `withinP` = sum of S over the ordered pairs of P, `cross` = sum over L x R.
 */
function separation(nl: number, nr: number, withinL: number, withinR: number, cross: number): number {
  if (nl + nr <= 2) return NaN;
  const delta2 = cross / (nl * nr) - withinL / (2 * nl * nl) - withinR / (2 * nr * nr);
  const sigma2 = (withinL / (2 * nl) + withinR / (2 * nr)) / (nl + nr - 2);
  if (sigma2 === 0) return delta2 > 0 ? Infinity : 0;
  return delta2 / (sigma2 * (1 / nl + 1 / nr));
}

export interface Clustering {
  /** The cluster of each input path, numbered by first appearance (labels[0] = 0). */
  labels: number[];
  /** The paths of each cluster. */
  clusters: string[][];
  /** The pairwise MoTHer distances used (Infinity between different signatures). */
  distances: number[][];
}

export interface ClusterOptions {
  /** Without k: two clusters are one tree while their separation T (see `separation`) stays below this (default 12;
   * on the tiny zoo, any value from 6 to 100 gives the same, exact, clusters). */
  maxSeparation?: number;
}

/**
 * Groups models into trees when no base is known (MoTHer): files of different signatures are always apart; within a
 * signature, average-linkage clustering of the pairwise MoTHer distances (mean |a - b|).
 * - With `k`: the dendrogram (over all files, infinitely far across signatures) is cut at k clusters; k must be at
 *   least the number of distinct signatures. Heights are compared across architectures here, as they come.
 * - Without `k`: going up the dendrogram, each merge of two clusters that are each one tree is tested: they are one
 *   tree too when the squared distance between their centroids is within `maxSeparation` (12) squared standard errors
 *   of what the spread of their members gives by chance (see `separation`; from mean squared differences). The
 *   clusters are the largest subtrees whose merges all pass. Scale-free, so architectures and trees with larger or
 *   smaller fine-tuning steps need no tuning, and nested trees (a base continued from another's) are found as long as
 *   their centroids separate. Why not the largest gap between merge heights, or the silhouette: fine-tunes of one
 *   base at several learning rates spread over a 4x range of distances (measured on the tiny zoo), so one tree has
 *   no single height band (a gap rule cuts inside it), and the best silhouette of a single real tree is 0.25-0.45
 *   (it splits off the far fine-tunes); the separation of a single tree's dendrogram root split was 2.6-6 there,
 *   against 130-210 between two trees of 12 models and 24-30 for one model against another tree.
 *   Limits: a lone model joins a cluster while it is within about sqrt(12) = 3.5 of the cluster's spreads (rms
 *   distance of a member to the centroid) from its centroid, whether it is a far fine-tune of that tree or the one
 *   model of another tree near it; two lone models are always merged (no spread to judge them by); trees whose
 *   bases are close relatives need more models each to separate (T grows with the clusters' sizes). Pass k when the
 *   number of trees is known.
 * Cost: pairwise distances O(n^2 x parameters) (see `pairwiseDistances`), linkage O(n^3), the tests O(n^2): fine for
 * hundreds of models. Deterministic.
 */
export function clusterByDistance(paths: readonly string[], k?: number, opts: ClusterOptions = {}): Clustering {
  const n = paths.length;
  if (n === 0) return { labels: [], clusters: [], distances: [] };
  const { abs, sq } = pairwise(paths);
  const merges = averageLinkage(abs);
  const groups = n - merges.length; // distinct signatures: merges stop at infinite distance
  let chosen: Merge[];
  if (k !== undefined) {
    if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`clusterByDistance: k must be an integer in 1..${n} (the number of files), got ${k}`);
    if (k < groups) throw new Error(`clusterByDistance: k = ${k} is fewer than the ${groups} distinct signatures among the files (different signatures are never one tree)`);
    chosen = merges.slice(0, n - k);
  } else {
    const max = opts.maxSeparation ?? 12;
    // Per current representative: its members, the sum of S over their ordered pairs, and whether it is one tree.
    const members = paths.map((_, i) => [i]);
    const within = new Array<number>(n).fill(0);
    const pure = new Array<boolean>(n).fill(true);
    chosen = [];
    for (const m of merges) {
      const [L, R] = [members[m.a], members[m.b]];
      let cross = 0;
      for (const i of L) for (const j of R) cross += sq[i][j];
      const ok = pure[m.a] && pure[m.b] && !(separation(L.length, R.length, within[m.a], within[m.b], cross) >= max);
      if (ok) chosen.push(m);
      pure[m.a] = ok;
      within[m.a] += within[m.b] + 2 * cross;
      members[m.a] = [...L, ...R];
    }
  }
  const labels = labelsAfter(n, chosen);
  const clusters: string[][] = [];
  labels.forEach((l, i) => (clusters[l] ??= []).push(paths[i]));
  return { labels, clusters, distances: abs };
}
