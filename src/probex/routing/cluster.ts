// Routing without bases: group models by signature, then by average-linkage clustering of their pairwise MoTHer
// distances, cut at k clusters or, without k, where two clusters' centroids separate by more than their spread
// explains.
import { readSafetensorsFile } from '../../node/safetensors-file.ts';
import type { SafetensorsFileReader } from '../../node/safetensors-file.ts';
import { signature } from './signature.ts';
import { comparables } from './distance.ts';


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

