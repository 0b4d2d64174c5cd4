// ProbeX evaluation metrics: multi-label fine-tuning-class prediction, top-k accuracy, text-to-model retrieval,
// cosine k-NN baselines and mean ± std over split seeds. Pure float64 math on host arrays; matrices are row-major.
//
// Tie rules, chosen so that no metric depends on row or column order and a constant scorer earns no credit:
// average precision treats tied scores as one threshold (sklearn's average_precision_score), and every top-k metric
// counts ties against the prediction. Only k-NN breaks ties by index, among equally similar training rows.

export type Scores = ArrayLike<number>;

function checkCount(fn: string, what: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${fn}: ${what} must be an integer >= ${min}, got ${v}`);
}

function checkK(fn: string, k: number, max: number, what: string): void {
  if (!Number.isInteger(k) || k < 1 || k > max) throw new Error(`${fn}: k = ${k} out of range 1..${max} (${what})`);
}

function checkScores(fn: string, name: string, a: Scores, n: number, c: number): void {
  if (a.length !== n * c) throw new Error(`${fn}: ${name} has ${a.length} entries, expected ${n} x ${c} = ${n * c}`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i])) throw new Error(`${fn}: NaN in ${name} at row ${Math.floor(i / c)}, column ${i % c}`);
  }
}

function checkTargets(fn: string, name: string, a: Scores, n: number, c: number): void {
  if (a.length !== n * c) throw new Error(`${fn}: ${name} has ${a.length} entries, expected ${n} x ${c} = ${n * c}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== 0 && a[i] !== 1) throw new Error(`${fn}: ${name} must be 0/1, got ${a[i]} at row ${Math.floor(i / c)}, column ${i % c}`);
  }
}

/**
 * Average precision of one ranking, or null when nothing is positive. Tied scores form one threshold and every
 * positive in the group gets the precision at the group's end, which is sklearn's sum over thresholds of
 * (R_n - R_{n-1}) P_n; it does not depend on the order of the inputs.
 */
function averagePrecision(values: Float64Array, positive: Uint8Array): number | null {
  let total = 0;
  for (let i = 0; i < positive.length; i++) total += positive[i];
  if (total === 0) return null;
  // Comparisons rather than subtraction: Infinity - Infinity would be NaN and break the sort.
  const order = Array.from(values.keys()).sort((a, b) => (values[a] > values[b] ? -1 : values[a] < values[b] ? 1 : 0));
  let tp = 0;
  let sum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    let groupPos = 0;
    while (end < order.length && values[order[end]] === values[order[start]]) groupPos += positive[order[end++]];
    tp += groupPos;
    sum += (groupPos * tp) / end;
    start = end;
  }
  return sum / total;
}

/** Fraction of (model, label) entries where `prob > threshold` equals the 0/1 target (the ProbeX paper's metric). */
export function perLabelAccuracy(probs: Scores, targets: Scores, n: number, c: number, threshold = 0.5): number {
  const fn = 'perLabelAccuracy';
  checkCount(fn, 'n', n);
  checkCount(fn, 'c', c);
  if (Number.isNaN(threshold)) throw new Error(`${fn}: threshold is NaN`);
  checkScores(fn, 'probs', probs, n, c);
  checkTargets(fn, 'targets', targets, n, c);
  let right = 0;
  for (let i = 0; i < n * c; i++) if ((probs[i] > threshold ? 1 : 0) === targets[i]) right++;
  return right / (n * c);
}

/**
 * Macro mean over labels of average precision, each label ranking the n models by score (ties: see
 * averagePrecision). Labels that no model has are skipped, since their AP is undefined.
 */
export function meanAveragePrecision(scores: Scores, targets: Scores, n: number, c: number): number {
  const fn = 'meanAveragePrecision';
  checkCount(fn, 'n', n);
  checkCount(fn, 'c', c);
  checkScores(fn, 'scores', scores, n, c);
  checkTargets(fn, 'targets', targets, n, c);
  const col = new Float64Array(n);
  const pos = new Uint8Array(n);
  let sum = 0;
  let used = 0;
  for (let j = 0; j < c; j++) {
    for (let i = 0; i < n; i++) {
      col[i] = scores[i * c + j];
      pos[i] = targets[i * c + j];
    }
    const ap = averagePrecision(col, pos);
    if (ap !== null) {
      sum += ap;
      used++;
    }
  }
  if (used === 0) throw new Error(`${fn}: no label has a positive model, so average precision is undefined`);
  return sum / used;
}

/**
 * Fraction of models whose k highest-scored labels are exactly their k true labels (k = the model's number of
 * positives): every true label must score strictly above every false one, so a tie at the boundary is a miss.
 * Models with no or all labels positive have nothing to rank and are skipped.
 */
export function topKRecovery(scores: Scores, targets: Scores, n: number, c: number): number {
  const fn = 'topKRecovery';
  checkCount(fn, 'n', n);
  checkCount(fn, 'c', c);
  checkScores(fn, 'scores', scores, n, c);
  checkTargets(fn, 'targets', targets, n, c);
  let hits = 0;
  let used = 0;
  for (let i = 0; i < n; i++) {
    let minTrue = Infinity;
    let maxFalse = -Infinity;
    let k = 0;
    for (let j = 0; j < c; j++) {
      const s = scores[i * c + j];
      if (targets[i * c + j] === 1) {
        k++;
        minTrue = Math.min(minTrue, s);
      } else maxFalse = Math.max(maxFalse, s);
    }
    if (k === 0 || k === c) continue;
    used++;
    if (minTrue > maxFalse) hits++;
  }
  if (used === 0) throw new Error(`${fn}: every model has no or all labels positive, nothing to rank`);
  return hits / used;
}

/** Top-k accuracy of single-label predictions; a class tied with the true one counts as ranked above it. */
export function topKAccuracy(scores: Scores, truth: ArrayLike<number>, n: number, c: number, k: number): number {
  const fn = 'topKAccuracy';
  checkCount(fn, 'n', n);
  checkCount(fn, 'c', c);
  checkK(fn, k, c, `${c} classes`);
  checkScores(fn, 'scores', scores, n, c);
  if (truth.length !== n) throw new Error(`${fn}: truth has ${truth.length} entries, expected n = ${n}`);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    if (!Number.isInteger(t) || t < 0 || t >= c) throw new Error(`${fn}: truth[${i}] = ${t} is not a class index in 0..${c - 1}`);
    const st = scores[i * c + t];
    let ahead = 0;
    for (let j = 0; j < c; j++) if (j !== t && scores[i * c + j] >= st) ahead++;
    if (ahead < k) hits++;
  }
  return hits / n;
}

export interface RetrievalResult {
  /** recall@k: fraction of queries with at least one relevant item in their top k. */
  recallAtK: Record<number, number>;
  /** Mean over queries of average precision over the full ranking of items. */
  mAP: number;
  /** Queries evaluated (those with at least one relevant item). */
  queries: number;
}

/**
 * Text-to-model retrieval over a queries x items similarity matrix. recall@k is the fraction of queries with at
 * least one relevant item in the top k (not the fraction of relevant items found), with ties at the cut counted
 * against the query; mAP averages AP over the full ranking (ties as sklearn). Queries with no relevant item are
 * skipped.
 */
export function retrieval(
  sim: Scores,
  relevant: (query: number, item: number) => boolean,
  queries: number,
  items: number,
  ks: readonly number[] = [1, 5, 10],
): RetrievalResult {
  const fn = 'retrieval';
  checkCount(fn, 'queries', queries);
  checkCount(fn, 'items', items);
  for (const k of ks) checkK(fn, k, items, `${items} items`);
  checkScores(fn, 'sim', sim, queries, items);
  const row = new Float64Array(items);
  const pos = new Uint8Array(items);
  const hits = ks.map(() => 0);
  let apSum = 0;
  let used = 0;
  for (let q = 0; q < queries; q++) {
    let bestRel = -Infinity;
    let any = false;
    for (let j = 0; j < items; j++) {
      row[j] = sim[q * items + j];
      pos[j] = relevant(q, j) ? 1 : 0;
      if (pos[j]) {
        any = true;
        bestRel = Math.max(bestRel, row[j]);
      }
    }
    if (!any) continue;
    used++;
    // Irrelevant items that rank before (or tie with) the best relevant one.
    let ahead = 0;
    for (let j = 0; j < items; j++) if (!pos[j] && row[j] >= bestRel) ahead++;
    ks.forEach((k, i) => {
      if (ahead < k) hits[i]++;
    });
    apSum += averagePrecision(row, pos) ?? 0;
  }
  if (used === 0) throw new Error(`${fn}: no query has a relevant item`);
  const recallAtK: Record<number, number> = {};
  ks.forEach((k, i) => (recallAtK[k] = hits[i] / used));
  return { recallAtK, mAP: apSum / used, queries: used };
}

/** Row L2 norms, rejecting rows whose cosine similarity is undefined. */
function rowNorms(fn: string, name: string, reps: Scores, rows: number, dim: number): Float64Array {
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const v = reps[r * dim + d];
      if (!Number.isFinite(v)) throw new Error(`${fn}: non-finite value ${v} in ${name} at row ${r}, column ${d}`);
      s += v * v;
    }
    if (s === 0) throw new Error(`${fn}: ${name} row ${r} is all zeros, so its cosine similarity is undefined`);
    norms[r] = Math.sqrt(s);
  }
  return norms;
}

/**
 * The k most cosine-similar training rows of each test row, nearest first; equally similar rows keep index order
 * so the result is deterministic. Returns nTest x k indices.
 */
function nearest(fn: string, trainReps: Scores, nTrain: number, testReps: Scores, dim: number, k: number): { idx: Int32Array; nTest: number } {
  checkCount(fn, 'dim', dim);
  if (trainReps.length !== nTrain * dim) throw new Error(`${fn}: trainReps has ${trainReps.length} entries, expected ${nTrain} x ${dim} = ${nTrain * dim}`);
  if (testReps.length % dim !== 0) throw new Error(`${fn}: testReps has ${testReps.length} entries, not a multiple of dim = ${dim}`);
  checkK(fn, k, nTrain, `${nTrain} training rows`);
  const nTest = testReps.length / dim;
  const trainNorm = rowNorms(fn, 'trainReps', trainReps, nTrain, dim);
  const testNorm = rowNorms(fn, 'testReps', testReps, nTest, dim);
  const idx = new Int32Array(nTest * k);
  const best = new Float64Array(k);
  for (let t = 0; t < nTest; t++) {
    let count = 0;
    for (let i = 0; i < nTrain; i++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += trainReps[i * dim + d] * testReps[t * dim + d];
      const s = dot / (trainNorm[i] * testNorm[t]);
      if (count === k && s <= best[k - 1]) continue;
      // Insert after every kept row at least as similar, so earlier indices win ties.
      let p = Math.min(count, k - 1);
      while (p > 0 && best[p - 1] < s) {
        best[p] = best[p - 1];
        idx[t * k + p] = idx[t * k + p - 1];
        p--;
      }
      best[p] = s;
      idx[t * k + p] = i;
      if (count < k) count++;
    }
  }
  return { idx, nTest };
}

/**
 * Cosine-similarity k-NN majority vote; a tied vote goes to the tied class whose nearest member is closest. Returns
 * the predicted class of each test row.
 */
export function knnClassify(trainReps: Scores, trainLabels: ArrayLike<number>, testReps: Scores, dim: number, k: number): Int32Array {
  const fn = 'knnClassify';
  for (let i = 0; i < trainLabels.length; i++) {
    const l = trainLabels[i];
    if (!Number.isInteger(l) || l < 0 || l > 0x7fffffff) throw new Error(`${fn}: trainLabels[${i}] = ${l} is not a class index`);
  }
  const { idx, nTest } = nearest(fn, trainReps, trainLabels.length, testReps, dim, k);
  const out = new Int32Array(nTest);
  const votes = new Map<number, number>();
  for (let t = 0; t < nTest; t++) {
    votes.clear();
    for (let j = 0; j < k; j++) {
      const l = trainLabels[idx[t * k + j]];
      votes.set(l, (votes.get(l) ?? 0) + 1);
    }
    // Map iteration follows first insertion, i.e. each class's nearest member, so a strict > keeps the closer class.
    let bestClass = -1;
    let bestVotes = 0;
    for (const [l, v] of votes) {
      if (v > bestVotes) {
        bestClass = l;
        bestVotes = v;
      }
    }
    out[t] = bestClass;
  }
  return out;
}

/**
 * Multi-label k-NN: for each test row, the mean of its k cosine-nearest training rows' 0/1 targets, an nTest x c
 * score matrix for perLabelAccuracy and the ranking metrics.
 */
export function knnMultiLabel(trainReps: Scores, trainTargets: Scores, testReps: Scores, dim: number, c: number, k: number): Float64Array {
  const fn = 'knnMultiLabel';
  checkCount(fn, 'c', c);
  if (trainTargets.length % c !== 0) throw new Error(`${fn}: trainTargets has ${trainTargets.length} entries, not a multiple of c = ${c}`);
  const nTrain = trainTargets.length / c;
  checkTargets(fn, 'trainTargets', trainTargets, nTrain, c);
  const { idx, nTest } = nearest(fn, trainReps, nTrain, testReps, dim, k);
  const out = new Float64Array(nTest * c);
  for (let t = 0; t < nTest; t++) {
    for (let j = 0; j < k; j++) {
      const r = idx[t * k + j];
      for (let l = 0; l < c; l++) out[t * c + l] += trainTargets[r * c + l];
    }
    for (let l = 0; l < c; l++) out[t * c + l] /= k;
  }
  return out;
}

/** Mean and sample standard deviation (n - 1; 0 for a single value), for aggregating over split seeds. */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) throw new Error('meanStd: no values');
  values.forEach((v, i) => {
    if (Number.isNaN(v)) throw new Error(`meanStd: values[${i}] is NaN`);
  });
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}
