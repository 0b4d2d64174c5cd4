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
import { readSafetensorsFile } from '../../node/safetensors-file.ts';
import type { Split } from '../zoo/layout.ts';
import type { ModelSample, TreeSamples } from '../data/samples.ts';
import { compareSignatures, entryKey, parseSignature, signature, signatureOf } from './signature.ts';
import { absDiffSum, comparables, type Vec } from './distance.ts';


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

