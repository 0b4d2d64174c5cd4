// ProbeX metrics against hand-worked examples (expected values derived in comments), randomized comparisons with
// brute-force re-implementations written here from the definitions, and the errors bad input must raise.
import { describe, it, expect } from 'vitest';
import { seededRandom } from '../src/datasets/split.ts';
import { aggregate, markdownTable } from '../src/probex/results.ts';
import type { MetricRow } from '../src/probex/evaluate.ts';
import { resplit, splitDigest } from '../src/probex/resplit.ts';
import { treeSamples, type ModelSample, type TreeSamples } from '../src/probex/data/samples.ts';
import type { Split } from '../src/probex/zoo/layout.ts';
import {
  knnClassify,
  knnMultiLabel,
  meanAveragePrecision,
  meanStd,
  perLabelAccuracy,
  retrieval,
  topKAccuracy,
  topKRecovery,
} from '../src/probex/metrics.ts';
import { quantiles, tensorStats } from '../src/probex/data/weight-stats.ts';

const F = (xs: number[]): Float32Array => Float32Array.from(xs);
const D = (xs: number[]): Float64Array => Float64Array.from(xs);

/** sklearn's definition, enumerated: AP = sum over distinct thresholds t (descending) of (R(t) - R(prev)) P(t). */
function bruteAP(scores: number[], pos: boolean[]): number {
  const P = pos.filter(Boolean).length;
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  for (const t of thresholds) {
    const sel = scores.map((s) => s >= t);
    const tp = sel.filter((s, i) => s && pos[i]).length;
    const k = sel.filter(Boolean).length;
    const recall = tp / P;
    ap += (recall - prevRecall) * (tp / k);
    prevRecall = recall;
  }
  return ap;
}

/** Textbook AP for tie-free scores: mean over positives of precision at the positive's rank. */
function rankAP(scores: number[], pos: boolean[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let tp = 0;
  let sum = 0;
  order.forEach((i, r) => {
    if (pos[i]) sum += ++tp / (r + 1);
  });
  return sum / tp;
}

/** Scores drawn from `levels` values (few levels -> many ties). */
function randScores(r: () => number, len: number, levels: number): number[] {
  return Array.from({ length: len }, () => Math.floor(r() * levels) / levels);
}

function shuffle<T>(xs: T[], r: () => number): number[] {
  const p = xs.map((_, i) => i);
  for (let i = p.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

describe('perLabelAccuracy', () => {
  it('matches a hand-worked example and thresholds strictly', () => {
    const probs = F([0.9, 0.2, 0.5, 0.4, 0.7, 0.1]);
    const targets = F([1, 0, 1, 0, 0, 1]);
    // threshold 0.5: predictions 1 0 0 | 0 1 0 (0.5 is not > 0.5) -> matches 1 1 0 | 1 0 0 = 3/6.
    expect(perLabelAccuracy(probs, targets, 2, 3)).toBeCloseTo(3 / 6, 12);
    // threshold 0.45: predictions 1 0 1 | 0 1 0 -> matches 1 1 1 | 1 0 0 = 4/6.
    expect(perLabelAccuracy(probs, targets, 2, 3, 0.45)).toBeCloseTo(4 / 6, 12);
  });

  it('agrees with a direct count on random inputs', () => {
    const r = seededRandom(11);
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(r() * 9);
      const c = 1 + Math.floor(r() * 9);
      const probs = randScores(r, n * c, 10);
      const targets = Array.from({ length: n * c }, () => (r() < 0.5 ? 1 : 0));
      let right = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) if (Number(probs[i * c + j] > 0.35) === targets[i * c + j]) right++;
      expect(perLabelAccuracy(D(probs), F(targets), n, c, 0.35)).toBeCloseTo(right / (n * c), 12);
    }
  });

  it('rejects bad input', () => {
    expect(() => perLabelAccuracy(F([0.1, 0.2]), F([1, 0, 1]), 1, 2)).toThrow(/targets has 3 entries, expected 1 x 2/);
    expect(() => perLabelAccuracy(F([0.1]), F([1, 0]), 1, 2)).toThrow(/probs has 1 entries/);
    expect(() => perLabelAccuracy(F([0.1, NaN]), F([1, 0]), 1, 2)).toThrow(/NaN in probs at row 0, column 1/);
    expect(() => perLabelAccuracy(F([0.1, 0.2]), F([1, 2]), 1, 2)).toThrow(/targets must be 0\/1, got 2/);
    expect(() => perLabelAccuracy(F([0.1, 0.2]), F([1, 0]), 1, 2, NaN)).toThrow(/threshold is NaN/);
    expect(() => perLabelAccuracy(F([]), F([]), 0, 2)).toThrow(/n must be an integer >= 1, got 0/);
  });
});

describe('meanAveragePrecision', () => {
  it('matches hand-worked examples and skips labels without positives', () => {
    // 3 models x 3 labels (rows are models).
    // label 0: scores .9 .8 .7, targets 1 0 1 -> ranking [1,0,1] -> AP = (1/1 + 2/3) / 2 = 5/6.
    // label 1: scores .1 .3 .2, targets 0 0 1 -> ranking [0,1,0] -> AP = 1/2.
    // label 2: no positive -> skipped. mAP = (5/6 + 1/2) / 2 = 2/3.
    const scores = F([0.9, 0.1, 0.4, 0.8, 0.3, 0.5, 0.7, 0.2, 0.6]);
    const targets = F([1, 0, 0, 0, 0, 0, 1, 1, 0]);
    expect(meanAveragePrecision(scores, targets, 3, 3)).toBeCloseTo(2 / 3, 12);
  });

  it('scores a tie group at its end, as sklearn does', () => {
    // scores .5 .5 .5 .1, targets 1 1 0 0: one threshold at .5 holds both positives at precision 2/3 -> AP = 2/3
    // (index order would give 1, negatives-first 7/12).
    expect(meanAveragePrecision(D([0.5, 0.5, 0.5, 0.1]), D([1, 1, 0, 0]), 4, 1)).toBeCloseTo(2 / 3, 12);
    // targets 1 0 0 1: (1/3 + 2/4) / 2 = 5/12.
    expect(meanAveragePrecision(D([0.5, 0.5, 0.5, 0.1]), D([1, 0, 0, 1]), 4, 1)).toBeCloseTo(5 / 12, 12);
    // Infinite scores tie with each other too: same ranking as the first case.
    expect(meanAveragePrecision(D([Infinity, Infinity, Infinity, -Infinity]), D([1, 1, 0, 0]), 4, 1)).toBeCloseTo(2 / 3, 12);
  });

  it('agrees with enumerated thresholds, the rank formula, and is invariant to model order', () => {
    const r = seededRandom(22);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + Math.floor(r() * 12);
      const c = 1 + Math.floor(r() * 5);
      const levels = trial % 2 === 0 ? 4 : 1e9; // many ties, or (almost surely) none
      const scores = randScores(r, n * c, levels);
      const targets = Array.from({ length: n * c }, () => (r() < 0.4 ? 1 : 0));
      const aps: number[] = [];
      for (let j = 0; j < c; j++) {
        const col = Array.from({ length: n }, (_, i) => scores[i * c + j]);
        const pos = Array.from({ length: n }, (_, i) => targets[i * c + j] === 1);
        if (!pos.some(Boolean)) continue;
        const ap = bruteAP(col, pos);
        if (new Set(col).size === n) expect(ap).toBeCloseTo(rankAP(col, pos), 12);
        aps.push(ap);
      }
      if (aps.length === 0) {
        expect(() => meanAveragePrecision(D(scores), D(targets), n, c)).toThrow(/no label has a positive model/);
        continue;
      }
      const got = meanAveragePrecision(D(scores), D(targets), n, c);
      expect(got).toBeCloseTo(aps.reduce((a, b) => a + b, 0) / aps.length, 12);
      const p = shuffle(Array.from({ length: n }), r);
      const permute = (xs: number[]): number[] => p.flatMap((i) => xs.slice(i * c, (i + 1) * c));
      expect(meanAveragePrecision(D(permute(scores)), D(permute(targets)), n, c)).toBeCloseTo(got, 12);
    }
  });

  it('rejects bad input', () => {
    expect(() => meanAveragePrecision(F([0.1, 0.2]), F([0, 0]), 2, 1)).toThrow(/no label has a positive model/);
    expect(() => meanAveragePrecision(F([0.1, NaN]), F([0, 1]), 2, 1)).toThrow(/NaN in scores at row 1, column 0/);
    expect(() => meanAveragePrecision(F([0.1, 0.2]), F([0, 1, 1]), 2, 1)).toThrow(/targets has 3 entries/);
    expect(() => meanAveragePrecision(F([0.1, 0.2]), F([0, 0.5]), 2, 1)).toThrow(/targets must be 0\/1, got 0.5/);
  });
});

describe('topKRecovery', () => {
  it('matches a hand-worked example, counting boundary ties as misses', () => {
    // 4 models x 4 labels.
    // model 0: top-2 {0,2} = truth {0,2} -> hit.
    // model 1: top-2 {1,3} != truth {0,1} -> miss.
    // model 2: labels 0,1,2 tie at .5 for two slots -> miss (tie at the boundary).
    // model 3: no positive -> skipped. Recovery = 1/3.
    const scores = [0.9, 0.1, 0.8, 0.2, 0.6, 0.7, 0.1, 0.65, 0.5, 0.5, 0.5, 0.1, 0.3, 0.2, 0.1, 0.4];
    const targets = [1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0];
    expect(topKRecovery(F(scores), F(targets), 4, 4)).toBeCloseTo(1 / 3, 12);
    // Break model 2's tie in favour of its truth -> 2/3; ties inside the true set are harmless.
    scores[10] = 0.4;
    expect(topKRecovery(F(scores), F(targets), 4, 4)).toBeCloseTo(2 / 3, 12);
  });

  it('agrees with sorting each row with false labels first among ties', () => {
    const r = seededRandom(33);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(r() * 10);
      const c = 2 + Math.floor(r() * 6);
      const scores = randScores(r, n * c, trial % 2 === 0 ? 3 : 1e9);
      const targets = Array.from({ length: n * c }, () => (r() < 0.5 ? 1 : 0));
      let hits = 0;
      let used = 0;
      for (let i = 0; i < n; i++) {
        const s = scores.slice(i * c, (i + 1) * c);
        const t = targets.slice(i * c, (i + 1) * c);
        const k = t.filter((x) => x === 1).length;
        if (k === 0 || k === c) continue;
        used++;
        const order = s.map((_, j) => j).sort((a, b) => s[b] - s[a] || t[a] - t[b]);
        if (order.slice(0, k).every((j) => t[j] === 1)) hits++;
      }
      if (used === 0) expect(() => topKRecovery(D(scores), D(targets), n, c)).toThrow(/nothing to rank/);
      else expect(topKRecovery(D(scores), D(targets), n, c)).toBeCloseTo(hits / used, 12);
    }
  });

  it('rejects bad input', () => {
    expect(() => topKRecovery(F([0.1, 0.2, 0.3, 0.4]), F([1, 1, 0, 0]), 2, 2)).toThrow(/every model has no or all labels positive/);
    expect(() => topKRecovery(F([0.1, 0.2, 0.3]), F([1, 0, 0, 1]), 2, 2)).toThrow(/scores has 3 entries, expected 2 x 2/);
    expect(() => topKRecovery(F([NaN, 0.2]), F([1, 0]), 1, 2)).toThrow(/NaN in scores at row 0, column 0/);
  });
});

describe('topKAccuracy', () => {
  // row 0: truth 1 scores highest -> rank 0. row 1: truth 0, only .4 is higher -> rank 1.
  // row 2: all tied, ties count against -> rank 3.
  const scores = F([0.1, 0.7, 0.2, 0.0, 0.3, 0.2, 0.4, 0.1, 0.25, 0.25, 0.25, 0.25]);
  const truth = [1, 0, 3];

  it('matches a hand-worked example', () => {
    expect(topKAccuracy(scores, truth, 3, 4, 1)).toBeCloseTo(1 / 3, 12);
    expect(topKAccuracy(scores, truth, 3, 4, 2)).toBeCloseTo(2 / 3, 12);
    expect(topKAccuracy(scores, truth, 3, 4, 3)).toBeCloseTo(2 / 3, 12);
    expect(topKAccuracy(scores, truth, 3, 4, 4)).toBe(1);
  });

  it('agrees with the position of the truth in a truth-last sort', () => {
    const r = seededRandom(44);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(r() * 10);
      const c = 1 + Math.floor(r() * 8);
      const k = 1 + Math.floor(r() * c);
      const s = randScores(r, n * c, trial % 2 === 0 ? 3 : 1e9);
      const t = Array.from({ length: n }, () => Math.floor(r() * c));
      let hits = 0;
      for (let i = 0; i < n; i++) {
        const row = s.slice(i * c, (i + 1) * c);
        const order = row.map((_, j) => j).sort((a, b) => row[b] - row[a] || Number(a === t[i]) - Number(b === t[i]));
        if (order.indexOf(t[i]) < k) hits++;
      }
      expect(topKAccuracy(D(s), Int32Array.from(t), n, c, k)).toBeCloseTo(hits / n, 12);
    }
  });

  it('rejects bad input', () => {
    expect(() => topKAccuracy(scores, truth, 3, 4, 0)).toThrow(/k = 0 out of range 1\.\.4/);
    expect(() => topKAccuracy(scores, truth, 3, 4, 5)).toThrow(/k = 5 out of range 1\.\.4/);
    expect(() => topKAccuracy(scores, truth, 3, 4, 1.5)).toThrow(/k = 1.5 out of range/);
    expect(() => topKAccuracy(scores, [1, 0], 3, 4, 1)).toThrow(/truth has 2 entries, expected n = 3/);
    expect(() => topKAccuracy(scores, [1, 0, 4], 3, 4, 1)).toThrow(/truth\[2\] = 4 is not a class index in 0\.\.3/);
    expect(() => topKAccuracy(scores, [1, 0, 0.5], 3, 4, 1)).toThrow(/truth\[2\] = 0.5/);
    expect(() => topKAccuracy(F([0, NaN]), [0], 1, 2, 1)).toThrow(/NaN in scores at row 0, column 1/);
  });
});

describe('retrieval', () => {
  it('matches a hand-worked example', () => {
    // q0: sims .9 .8 .7 .1, relevant {1,3}: one irrelevant item ahead of item 1 -> hit from k = 2;
    //     ranking [0,1,0,1] -> AP = (1/2 + 2/4) / 2 = 1/2.
    // q1: sims .2 .6 .6 .7, relevant {2}: item 3 ahead and item 1 tied -> hit from k = 3;
    //     tie group {1,2} ends at rank 3 -> AP = 1/3.
    // q2: nothing relevant -> skipped. recall@1 = 0, @2 = 1/2, @3 = 1; mAP = (1/2 + 1/3) / 2 = 5/12.
    const sim = F([0.9, 0.8, 0.7, 0.1, 0.2, 0.6, 0.6, 0.7, 0.5, 0.4, 0.3, 0.2]);
    const rel = [[1, 3], [2], []];
    const res = retrieval(sim, (q, j) => rel[q].includes(j), 3, 4, [1, 2, 3]);
    expect(res.recallAtK[1]).toBe(0);
    expect(res.recallAtK[2]).toBeCloseTo(1 / 2, 12);
    expect(res.recallAtK[3]).toBe(1);
    expect(res.mAP).toBeCloseTo(5 / 12, 12);
    expect(res.queries).toBe(2);
    expect(Object.keys(res.recallAtK).sort()).toEqual(['1', '2', '3']);
  });

  it('agrees with irrelevant-first sorting and enumerated-threshold AP on random inputs', () => {
    const r = seededRandom(55);
    for (let trial = 0; trial < 30; trial++) {
      const queries = 1 + Math.floor(r() * 8);
      const items = 10 + Math.floor(r() * 10);
      const sim = randScores(r, queries * items, trial % 2 === 0 ? 5 : 1e9);
      const relSet = Array.from({ length: queries * items }, () => r() < 0.15);
      const relevant = (q: number, j: number): boolean => relSet[q * items + j];
      const ks = [1, 5, 10];
      const hits = [0, 0, 0];
      let apSum = 0;
      let used = 0;
      for (let q = 0; q < queries; q++) {
        const row = sim.slice(q * items, (q + 1) * items);
        const pos = row.map((_, j) => relevant(q, j));
        if (!pos.some(Boolean)) continue;
        used++;
        const order = row.map((_, j) => j).sort((a, b) => row[b] - row[a] || Number(pos[a]) - Number(pos[b]));
        ks.forEach((k, i) => {
          if (order.slice(0, k).some((j) => pos[j])) hits[i]++;
        });
        apSum += bruteAP(row, pos);
      }
      if (used === 0) {
        expect(() => retrieval(D(sim), relevant, queries, items)).toThrow(/no query has a relevant item/);
        continue;
      }
      const res = retrieval(D(sim), relevant, queries, items);
      ks.forEach((k, i) => expect(res.recallAtK[k], `recall@${k}`).toBeCloseTo(hits[i] / used, 12));
      expect(res.mAP).toBeCloseTo(apSum / used, 12);
      expect(res.queries).toBe(used);
    }
  });

  it('rejects bad input', () => {
    const sim = F([0.1, 0.2, 0.3, 0.4]);
    expect(() => retrieval(sim, () => true, 2, 2)).toThrow(/k = 5 out of range 1\.\.2 \(2 items\)/);
    expect(() => retrieval(sim, () => true, 2, 2, [0])).toThrow(/k = 0 out of range/);
    expect(() => retrieval(sim, () => false, 2, 2, [1])).toThrow(/no query has a relevant item/);
    expect(() => retrieval(sim, () => true, 3, 2, [1])).toThrow(/sim has 4 entries, expected 3 x 2 = 6/);
    expect(() => retrieval(F([0.1, NaN]), () => true, 1, 2, [1])).toThrow(/NaN in sim at row 0, column 1/);
  });
});

describe('knnClassify', () => {
  // Train rows a = [1,0] (class 5), b = [0,1] (class 2), c = [1,1] (class 2), d = [2,0] (class 5, a's direction).
  const train = F([1, 0, 0, 1, 1, 1, 2, 0]);
  const labels = [5, 2, 2, 5];

  it('matches hand-worked votes', () => {
    // [1,.1]: a = d (.995) > c (.774) > b (.0995). k = 3 -> 5,5,2 -> 5. k = 1 -> 5.
    // [.1,1]: b (.995) > c (.774) > a = d (.0995). k = 3 -> 2,2,5 -> 2.
    expect([...knnClassify(train, labels, F([1, 0.1, 0.1, 1]), 2, 3)]).toEqual([5, 2]);
    expect([...knnClassify(train, labels, F([1, 0.1, 0.1, 1]), 2, 1)]).toEqual([5, 2]);
  });

  it('breaks a tied vote toward the class whose nearest member is closest', () => {
    // k = 4 always ties 2-2; the nearest row decides: a for [1,.1], b for [.1,1].
    expect([...knnClassify(train, labels, F([1, 0.1, 0.1, 1]), 2, 4)]).toEqual([5, 2]);
    // Two rows, k = 2: [1,.5] is nearer a = [1,0] (class 5), [.5,1] nearer b = [0,1] (class 2).
    expect([...knnClassify(F([1, 0, 0, 1]), [5, 2], F([1, 0.5, 0.5, 1]), 2, 2)]).toEqual([5, 2]);
    // And the same with the class indices swapped, so the lower index does not decide.
    expect([...knnClassify(F([1, 0, 0, 1]), [2, 5], F([1, 0.5, 0.5, 1]), 2, 2)]).toEqual([2, 5]);
  });

  it('agrees with a full sort on random inputs with duplicated rows', () => {
    const r = seededRandom(66);
    for (let trial = 0; trial < 20; trial++) {
      const dim = 1 + Math.floor(r() * 5);
      const protos = Array.from({ length: 4 }, () => Array.from({ length: dim }, () => r() * 2 - 1 + (r() < 0.5 ? 0.1 : -0.1)));
      const nTrain = 5 + Math.floor(r() * 20);
      // Exact duplicates of a few prototypes make similarity ties common, exercising the index tie rule.
      const trainRows = Array.from({ length: nTrain }, () => (r() < 0.5 ? protos[Math.floor(r() * 4)] : Array.from({ length: dim }, () => r() * 2 - 1 + 0.01)));
      const trainLabels = Array.from({ length: nTrain }, () => Math.floor(r() * 3));
      const nTest = 1 + Math.floor(r() * 6);
      const testRows = Array.from({ length: nTest }, () => Array.from({ length: dim }, () => r() * 2 - 1 + 0.01));
      const k = 1 + Math.floor(r() * Math.min(nTrain, 7));
      const targets = Array.from({ length: nTrain * 3 }, () => (r() < 0.5 ? 1 : 0));
      const cos = (u: number[], v: number[]): number => {
        let uv = 0;
        let uu = 0;
        let vv = 0;
        for (let d = 0; d < dim; d++) {
          uv += u[d] * v[d];
          uu += u[d] * u[d];
          vv += v[d] * v[d];
        }
        return uv / (Math.sqrt(uu) * Math.sqrt(vv));
      };
      const wantClass: number[] = [];
      const wantScores: number[] = [];
      for (const t of testRows) {
        const s = trainRows.map((u) => cos(u, t));
        const nn = s.map((_, i) => i).sort((a, b) => s[b] - s[a] || a - b).slice(0, k);
        const count = (l: number): number => nn.filter((i) => trainLabels[i] === l).length;
        const top = Math.max(...nn.map((i) => count(trainLabels[i])));
        wantClass.push(trainLabels[nn.find((i) => count(trainLabels[i]) === top) ?? -1]);
        for (let l = 0; l < 3; l++) wantScores.push(nn.reduce((a, i) => a + targets[i * 3 + l], 0) / k);
      }
      const trainF = D(trainRows.flat());
      const testF = D(testRows.flat());
      expect([...knnClassify(trainF, trainLabels, testF, dim, k)]).toEqual(wantClass);
      const got = knnMultiLabel(trainF, F(targets), testF, dim, 3, k);
      expect(got.length).toBe(wantScores.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(wantScores[i], 12));
    }
  });

  it('rejects bad input', () => {
    expect(() => knnClassify(train, labels, F([1, 0]), 2, 5)).toThrow(/k = 5 out of range 1\.\.4 \(4 training rows\)/);
    expect(() => knnClassify(train, labels, F([1, 0]), 2, 0)).toThrow(/k = 0 out of range/);
    expect(() => knnClassify(train, [5, 2, 2], F([1, 0]), 2, 1)).toThrow(/trainReps has 8 entries, expected 3 x 2 = 6/);
    expect(() => knnClassify(train, labels, F([1, 0, 1]), 2, 1)).toThrow(/testReps has 3 entries, not a multiple of dim = 2/);
    expect(() => knnClassify(train, labels, F([0, 0]), 2, 1)).toThrow(/testReps row 0 is all zeros/);
    expect(() => knnClassify(F([1, 0, 0, 0]), [1, 2], F([1, 0]), 2, 1)).toThrow(/trainReps row 1 is all zeros/);
    expect(() => knnClassify(train, labels, F([1, NaN]), 2, 1)).toThrow(/non-finite value NaN in testReps at row 0, column 1/);
    expect(() => knnClassify(train, [5, 2, -1, 5], F([1, 0]), 2, 1)).toThrow(/trainLabels\[2\] = -1 is not a class index/);
    expect(() => knnClassify(train, labels, F([1, 0]), 0, 1)).toThrow(/dim must be an integer >= 1, got 0/);
  });
});

describe('knnMultiLabel', () => {
  it('matches hand-worked neighbour means', () => {
    // a = [1,0] -> [1,0], b = [0,1] -> [0,1], c = [1,1] -> [1,1].
    // [1,.2]: a (.98) > c (.83) > b (.196); k = 2 -> mean(a, c) = [1, .5].
    // [0,1]:  b (1) > c (.71) > a (0);      k = 2 -> mean(b, c) = [.5, 1]; k = 3 -> [2/3, 2/3].
    const train = F([1, 0, 0, 1, 1, 1]);
    const targets = F([1, 0, 0, 1, 1, 1]);
    expect([...knnMultiLabel(train, targets, F([1, 0.2, 0, 1]), 2, 2, 2)]).toEqual([1, 0.5, 0.5, 1]);
    const k3 = knnMultiLabel(train, targets, F([0, 1]), 2, 2, 3);
    expect(k3[0]).toBeCloseTo(2 / 3, 12);
    expect(k3[1]).toBeCloseTo(2 / 3, 12);
  });

  it('rejects bad input', () => {
    const train = F([1, 0, 0, 1]);
    expect(() => knnMultiLabel(train, F([1, 0, 1]), F([1, 0]), 2, 2, 1)).toThrow(/trainTargets has 3 entries, not a multiple of c = 2/);
    expect(() => knnMultiLabel(train, F([1, 0, 1, 0, 1, 0]), F([1, 0]), 2, 2, 1)).toThrow(/trainReps has 4 entries, expected 3 x 2 = 6/);
    expect(() => knnMultiLabel(train, F([1, 0, 1, 3]), F([1, 0]), 2, 2, 1)).toThrow(/trainTargets must be 0\/1, got 3/);
    expect(() => knnMultiLabel(train, F([1, 0, 1, 0]), F([1, 0]), 2, 2, 3)).toThrow(/k = 3 out of range 1\.\.2/);
  });
});

describe('the results table', () => {
  it('says over how many seeds a metric was measured when some seeds lack it', () => {
    const row = (seed: number, metrics: Record<string, number>): MetricRow => ({ seed, tree: 't', method: 'probex', layer: 'l1', metrics, parameters: 10, seconds: 1 });
    const [r] = aggregate([row(0, { seen_t2m_mAP: 0.5, seen_top1: 0.25 }), row(1, { seen_t2m_mAP: 0.7 }), row(2, { seen_t2m_mAP: 0.6, seen_top1: 0.75 })]);
    expect(r.seeds).toBe(3);
    expect(r.metrics.seen_t2m_mAP.n).toBeUndefined();
    expect(r.metrics.seen_top1).toMatchObject({ mean: 0.5, n: 2 });
    expect(markdownTable([r])).toContain('| t | probex | l1 | 0.500 ± 0.354 (2 seeds) | 0.600 ± 0.100 | 10 | 1.0 | 3 |');
  });

  it('names each layer with its seeds, and the range of parameters, where a sweep picked different layers', () => {
    const row = (seed: number, layer: string, parameters: number): MetricRow => ({ seed, tree: 't', method: 'probex', layer, metrics: { per_label_acc: 0.5 + seed / 10 }, parameters, seconds: 1 });
    const [r] = aggregate([row(0, 'a', 2_200_000), row(1, 'b', 10_300), row(2, 'a', 2_200_000)]);
    expect(r.layer).toBe('a (seeds 0, 2); b (seed 1)');
    expect(r).toMatchObject({ parameters: 10_300, maxParameters: 2_200_000 });
    expect(markdownTable([r])).toContain('| t | probex | a (seeds 0, 2); b (seed 1) | 0.600 ± 0.100 | 10.3k-2.20M | 1.0 | 3 |');
  });

  it('shows a rate that is exactly 1 as a rate, and a count of models as a count', () => {
    const row = (seed: number): MetricRow => ({ seed, tree: 't', method: 'probex', layer: 'l', metrics: { scored: 10, top1: 1 }, parameters: 10, seconds: 1 });
    expect(markdownTable(aggregate([row(0), row(1)]))).toContain('| t | probex | l | 10 | 1.000 ± 0.000 | 10 | 1.0 | 2 |');
    expect(markdownTable(aggregate([row(0)]))).toContain('| t | probex | l | 10 | 1.000 | 10 | 1.0 | 1 |'); // one seed: no spread
  });
});

describe('split digests', () => {
  const model = (id: string, split: Split): ModelSample => ({ id, tree: 't', split, classes: ['a'], path: `/${id}` });
  const tree = (ids: string[]): TreeSamples => treeSamples('t', ids.map((id, i) => model(id, (['train', 'val', 'test'] as const)[i % 3])), null);

  it('is the same for the same models in any order and changes when a model is added or moved', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
    const a = tree(ids);
    expect(splitDigest(treeSamples('t', [...a.models].reverse(), null))).toBe(splitDigest(a));
    expect(splitDigest(tree([...ids, 'm40']))).not.toBe(splitDigest(a));
    const moved = a.models.map((m, i) => (i === 0 ? { ...m, split: 'test' as const } : m));
    expect(splitDigest(treeSamples('t', moved, null))).not.toBe(splitDigest(a));
    // A re-deal by seed depends on the pool, so one model more changes most of the test split.
    expect(splitDigest(resplit(tree([...ids, 'm40']), 1))).not.toBe(splitDigest(resplit(a, 1)));
    expect(splitDigest(resplit(a, 1))).toBe(splitDigest(resplit(tree(ids), 1)));
  });
});

describe('meanStd', () => {
  it('matches hand-worked values', () => {
    // mean 2.5; squared deviations 2.25 + .25 + .25 + 2.25 = 5 -> sample variance 5/3.
    const s = meanStd([1, 2, 3, 4]);
    expect(s.mean).toBeCloseTo(2.5, 12);
    expect(s.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(s.n).toBe(4);
    expect(meanStd([7])).toEqual({ mean: 7, std: 0, n: 1 });
  });

  it('agrees with the pairwise-difference form of the sample variance', () => {
    const r = seededRandom(77);
    for (let trial = 0; trial < 20; trial++) {
      const xs = Array.from({ length: 2 + Math.floor(r() * 10) }, () => r() * 10 - 5);
      // Sample variance = sum over pairs i < j of (x_i - x_j)^2 / (n (n - 1)).
      let pairs = 0;
      for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) pairs += (xs[i] - xs[j]) ** 2;
      const s = meanStd(xs);
      expect(s.std).toBeCloseTo(Math.sqrt(pairs / (xs.length * (xs.length - 1))), 10);
      expect(s.mean * xs.length).toBeCloseTo(xs.reduce((a, b) => a + b, 0), 10);
    }
  });

  it('rejects bad input', () => {
    expect(() => meanStd([])).toThrow(/meanStd: no values/);
    expect(() => meanStd([1, NaN])).toThrow(/values\[1\] is NaN/);
  });
});

describe('weight statistics (StatNN features)', () => {
  /** numpy's default quantile: sort, then interpolate linearly between neighbouring order statistics. */
  function sortedQuantile(v: Float32Array, q: number): number {
    const s = Float32Array.from(v).sort();
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(s.length - 1, lo + 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  }

  it('selection gives the quantiles a full sort gives, on ties, runs and awkward lengths', () => {
    const r = seededRandom(77);
    const qs = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];
    const cases: Float32Array[] = [];
    for (const n of [1, 2, 3, 4, 5, 7, 31, 100, 1009]) {
      cases.push(Float32Array.from({ length: n }, () => r() * 2 - 1));
      cases.push(Float32Array.from({ length: n }, () => Math.floor(r() * 4))); // heavy ties
      cases.push(Float32Array.from({ length: n }, (_, i) => i)); // sorted
      cases.push(Float32Array.from({ length: n }, (_, i) => n - i)); // reversed
      cases.push(new Float32Array(n).fill(0.5)); // constant
    }
    for (const v of cases) {
      const copy = Float32Array.from(v);
      const got = quantiles(v, qs);
      qs.forEach((q, k) => expect(got[k], `n=${v.length} q=${q}`).toBeCloseTo(sortedQuantile(v, q), 6));
      expect([...v]).toEqual([...copy]); // the input is left as it was
    }
  });

  it('tensorStats: mean, variance, five quantiles, L2 norm', () => {
    const v = F([3, -1, 2, 0, 1]);
    const [mean, variance, q0, q25, q50, q75, q100, norm] = tensorStats(v);
    expect(mean).toBeCloseTo(1, 6);
    expect(variance).toBeCloseTo(2, 6); // (4 + 4 + 1 + 1 + 0) / 5
    expect([q0, q25, q50, q75, q100]).toEqual([-1, 0, 1, 2, 3]);
    expect(norm).toBeCloseTo(Math.sqrt(15), 6);
  });
});
