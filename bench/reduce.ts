// The reduction benchmark suite: sums (rows, columns, whole arrays up to 2^28 floats) and softmax (rows, and whole
// arrays of 2^26 and 2^28 floats), every variant and "auto" side by side with TF.js's tf.sum / tf.softmax on the same
// device, each result checked against float64.
import { add, tensor, type Tensor } from '../src/node/index.ts';
import {
  defaultReducePlan,
  hasSubgroups,
  reduceClassKey,
  reduceK,
  reduceVariantPlan,
  setReduceChooser,
  softmaxK,
  type ReduceFamily,
  type ReduceProblem,
} from '../src/core/prims/reduce.ts';
import { lookupChoice } from '../src/core/tune/table.ts';
import {
  attachTuning,
  checkSamples,
  gflops,
  pickSamples,
  randomData,
  timeSideBySide,
  type BenchContext,
  type BenchRecord,
  type BenchSuite,
  type Candidate,
  type Expected,
} from './common.ts';

/** A reduction record: BenchRecord plus the memory traffic it implies and the resulting bandwidth. */
export interface ReduceRecord extends BenchRecord {
  /** Bytes an ideal kernel moves: reads of x (and writes of y for softmax). */
  bytes: number;
  gbps: number | null;
}

interface ReduceBench {
  op: 'sum' | 'softmax';
  /** The input is [outer, r, inner] reduced over r; `shape` is how it is presented. */
  shape: number[];
  axis: number | null;
  label: string;
  variants: string[];
}

const size = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);
const ROW_VARIANTS = ['tree-64', 'tree-256', 'subgroup-64', 'subgroup-256', 'thread-64', 'thread-256'];

function benches(): ReduceBench[] {
  const n = 4096;
  return [
    { op: 'sum', shape: [n, n], axis: 1, label: 'sum [4096 x 4096] over rows (axis 1)', variants: ROW_VARIANTS },
    { op: 'sum', shape: [n, n], axis: 0, label: 'sum [4096 x 4096] over columns (axis 0)', variants: ['thread-64', 'thread-256', 'thread-256-split'] },
    { op: 'softmax', shape: [n, n], axis: 1, label: 'softmax [4096 x 4096] over rows', variants: [...ROW_VARIANTS, 'subgroup-256-split', 'tree-256-split'] },
    ...[24, 26, 28].map(
      (p): ReduceBench => ({
        op: 'sum',
        shape: [2 ** p],
        axis: null,
        label: `sum of 2^${p} floats`,
        variants: ['tree-256-split', 'subgroup-256-split', 'thread-256-split'],
      }),
    ),
    // One softmax over the whole vector: the multi-pass path (max and sum over chunks, then one normalizing pass).
    ...[26, 28].map(
      (p): ReduceBench => ({
        op: 'softmax',
        shape: [2 ** p],
        axis: 0,
        label: `softmax of 2^${p} floats`,
        variants: ['tree-256-split', 'subgroup-256-split', 'thread-256-split'],
      }),
    ),
  ];
}

/** The reductions of the benchmark as autotuner shapes, those whose input fits one binding of `maxBytes`. */
export function reduceTuneShapes(maxBytes: number): { family: ReduceFamily; outer: number; r: number; inner: number; label: string }[] {
  return benches()
    .filter((b) => 4 * size(b.shape) <= maxBytes)
    .map((b) => ({ family: b.op === 'sum' ? ('reduce' as const) : ('softmax' as const), ...view(b), label: b.label }));
}

/** The [outer, r, inner] view a bench reduces. */
function view(b: ReduceBench): { outer: number; r: number; inner: number } {
  if (b.axis === null) return { outer: 1, r: size(b.shape), inner: 1 };
  return { outer: size(b.shape.slice(0, b.axis)), r: b.shape[b.axis], inner: size(b.shape.slice(b.axis + 1)) };
}

/**
 * Float64 reference of sampled outputs. Sums take inputs in [0, 1), so |sum| = sum |x| and a bound of 1e-4 sum |x|
 * (well above the f32 rounding of the blocked and tree orders, ~(block + length / block) 2^-24 sum |x|) still fails
 * a lost or doubled chunk. Softmax entries are checked to 1e-4 relative plus 1e-9.
 */
function expectedSamples(b: ReduceBench, x: Float32Array, count: number): Expected[] {
  const { outer, r, inner } = view(b);
  const line = (o: number, j: number): Float64Array => {
    const v = new Float64Array(r);
    for (let k = 0; k < r; k++) v[k] = x[(o * r + k) * inner + j];
    return v;
  };
  if (b.op === 'sum') {
    return pickSamples(outer * inner, count).map((index) => {
      let want = 0;
      for (const v of line(Math.floor(index / inner), index % inner)) want += v;
      return { index, want, bound: 1e-4 * want + 1e-7 };
    });
  }
  // Max and normalizer per line, computed once: the 2^28-float softmax is one line.
  const stats = new Map<number, { m: number; s: number }>();
  return pickSamples(size(b.shape), count).map((index) => {
    const o = Math.floor(index / (r * inner));
    const j = index % inner;
    if (!stats.has(o * inner + j)) {
      const v = line(o, j);
      let m = -Infinity;
      for (const u of v) m = Math.max(m, u);
      let s = 0;
      for (const u of v) s += Math.exp(u - m);
      stats.set(o * inner + j, { m, s });
    }
    const { m, s } = stats.get(o * inner + j)!;
    const want = Math.exp(x[index] - m) / s;
    return { index, want, bound: 1e-4 * want + 1e-9 };
  });
}

/** Name of the plan the engine picks for the first pass, for the "auto" label. */
function autoLabel(problem: ReduceProblem, ctx: BenchContext): string {
  const tuned = lookupChoice(ctx.engine, reduceClassKey(problem));
  if (tuned) return `auto (tuned: ${tuned.variant})`;
  const p = defaultReducePlan(problem);
  return `auto (${p.kernel}-${p.wg}${p.chunks > 1 ? `, ${p.chunks} chunks` : ''})`;
}

async function runBench(ctx: BenchContext, b: ReduceBench): Promise<ReduceRecord[]> {
  const { engine: e, info, args } = ctx;
  const n = size(b.shape);
  const family: ReduceFamily = b.op === 'sum' ? 'reduce' : 'softmax';
  const bytes = b.op === 'sum' ? 4 * n : 8 * n;
  // Flops counted: one add per element for sums; max, subtract, exp, add and divide (5) per element for softmax.
  const flops = b.op === 'sum' ? n : 5 * n;
  const base = { op: b.op, shape: b.label, adapter: info.description, software: info.isSoftware, flops, bytes };
  const records: ReduceRecord[] = [];
  const skipRecord = (variant: string, why: string): ReduceRecord => ({
    ...base, variant, ms: null, gflops: null, gbps: null, peer_ms: null, ratio: null, min_ms: null, trials: 0, reps: 0, check: 'skipped', note: why,
  });

  // One binding holds at most maxStorageBufferBindingSize bytes: larger inputs are split into pieces, each summed by
  // the engine, and the piece sums added. A software adapter skips them (minutes of CPU time for no GPU insight).
  const maxBinding = e.device.limits.maxStorageBufferBindingSize;
  const pieces = Math.ceil((4 * n) / maxBinding);
  if (pieces > 1 && (info.isSoftware || b.op !== 'sum') && !args.all) {
    const why = `${(4 * n) / 2 ** 20} MiB input exceeds this adapter's ${maxBinding / 2 ** 20} MiB storage binding limit: skipped${info.isSoftware ? ' on a software adapter (--all runs it split into pieces)' : ''}`;
    ctx.log(`${b.label}: ${why}`);
    return [skipRecord('-', why)];
  }
  const fitNote = pieces > 1 ? `split into ${pieces} bindings of at most ${maxBinding / 2 ** 20} MiB, piece sums added` : undefined;
  const per = Math.ceil(n / pieces);
  // The first pass the engine plans (for one piece when split), for the "auto" label.
  const v = pieces > 1 ? { outer: 1, r: per, inner: 1 } : view(b);
  const problem: ReduceProblem = { family, ...v, pass: 0, subgroups: hasSubgroups(e), software: info.isSoftware };

  ctx.log(`${b.label} ...`);
  const x = randomData(n, 11);
  // Sums take [0, 1) (see expectedSamples); softmax takes [-4, 4).
  for (let i = 0; i < n; i++) x[i] = b.op === 'sum' ? (x[i] + 1) / 2 : 4 * x[i];
  const expected = expectedSamples(b, x, 32);
  const parts: Tensor[] = [];
  for (let p = 0; p < pieces; p++) {
    const part = x.subarray(p * per, Math.min(n, (p + 1) * per));
    parts.push(tensor(part, pieces > 1 ? [part.length] : b.shape));
  }
  const gpuOp = (): Tensor => {
    if (b.op === 'softmax') return softmaxK(parts[0], b.axis ?? -1);
    if (pieces === 1) return reduceK('sum', parts[0], b.axis ?? undefined);
    let acc = reduceK('sum', parts[0]);
    for (const part of parts.slice(1)) {
      const s = reduceK('sum', part);
      const next = add(acc, s);
      acc.dispose();
      s.dispose();
      acc = next;
    }
    return acc;
  };

  const peer = pieces === 1 ? await ctx.peer() : null;
  const tx = peer?.tf.tensor(x, b.shape);
  const tfOp = peer ? (): ReturnType<typeof peer.tf.sum> => (b.op === 'softmax' ? peer.tf.softmax(tx!) : peer.tf.sum(tx!, b.axis ?? undefined)) : null;
  let tfFailure: string | null = null;

  const cands: (Candidate & { variant: string; check: () => Promise<ArrayLike<number>> })[] = [];
  const subgroups = hasSubgroups(e);
  const ours = ['auto', ...b.variants].filter((name) => name === 'auto' || !args.variants || args.variants.includes(name));
  for (const name of ours) {
    if (name.startsWith('subgroup') && !subgroups) {
      records.push(skipRecord(name, 'subgroups not available on this device'));
      continue;
    }
    const chooser = name === 'auto' ? null : (p: ReduceProblem) => reduceVariantPlan(name, p) ?? defaultReducePlan(p);
    const run = (): Tensor => {
      const prev = setReduceChooser(chooser);
      try {
        return gpuOp();
      } finally {
        setReduceChooser(prev);
      }
    };
    cands.push({
      name,
      variant: name === 'auto' ? autoLabel(problem, ctx) : name,
      run: () => run().dispose(),
      sync: () => e.sync(),
      check: async () => {
        const y = run();
        try {
          return await y.data();
        } finally {
          y.dispose();
        }
      },
    });
  }
  if (peer && tfOp) {
    cands.push({
      name: 'tfjs',
      variant: `tfjs-webgpu tf.${b.op} (peer)`,
      run: () => tfOp().dispose(),
      sync: () => peer.sync(),
      check: async () => {
        const y = tfOp();
        try {
          return (await y.data()) as Float32Array;
        } finally {
          y.dispose();
        }
      },
    });
  }
  try {
    const checks = new Map<string, ReturnType<typeof checkSamples>>();
    for (const c of [...cands]) {
      let got: ArrayLike<number>;
      try {
        got = await c.check();
      } catch (err) {
        // Only the peer is dropped on an exception; an engine error is sticky, so it ends the suite.
        if (c.name !== 'tfjs') throw err;
        tfFailure = `TF.js failed: ${err instanceof Error ? err.message : String(err)}`;
        ctx.log(`  ${tfFailure}`);
        cands.splice(cands.indexOf(c), 1);
        continue;
      }
      const res = checkSamples(got, expected);
      checks.set(c.name, res);
      if (!res.ok) ctx.log(`  CHECK FAILED ${c.variant} on ${b.label}: ${res.worst}`);
    }
    const timings = await timeSideBySide(cands, { trials: args.trials ?? (info.isSoftware ? 3 : 5), targetMs: info.isSoftware ? 150 : 100 });
    const peerMs = timings.get('tfjs')?.ms ?? null;
    for (const c of cands) {
      const t = timings.get(c.name)!;
      const chk = checks.get(c.name)!;
      const gbps = bytes / t.ms / 1e6;
      records.push({
        ...base,
        variant: c.variant,
        ms: t.ms,
        gflops: gflops(flops, t.ms),
        gbps,
        peer_ms: peerMs,
        ratio: peerMs !== null && c.name !== 'tfjs' ? peerMs / t.ms : null,
        min_ms: t.min,
        trials: t.samples.length,
        reps: t.reps,
        check: chk.ok ? 'ok' : 'FAIL',
        max_err: chk.maxErr,
        note: [`${gbps.toFixed(2)} GB/s`, c.name === 'tfjs' ? undefined : fitNote].filter(Boolean).join('; '),
      });
    }
    if (pieces > 1) records.push(skipRecord('tfjs-webgpu (peer)', 'the input does not fit one storage binding'));
    if (tfFailure) records.push(skipRecord('tfjs-webgpu (peer)', tfFailure));
  } finally {
    for (const p of parts) p.dispose();
    tx?.dispose();
  }
  return records;
}

export const suite: BenchSuite = {
  name: 'reduce',
  variants: [...ROW_VARIANTS, 'thread-256-split', 'subgroup-256-split', 'tree-256-split'],
  about: 'sum (rows, columns, 2^24..2^28 floats) and softmax (rows; 2^26, 2^28 floats) variants vs TF.js WebGPU, checked; ms, GB/s, ratio',
  async run(ctx) {
    const { engine: e, args } = ctx;
    attachTuning(ctx, 'reduction choices, where it has any,');
    ctx.log(`subgroups: ${hasSubgroups(e) ? 'yes' : 'no (subgroup variants skipped)'}; storage binding limit ${e.device.limits.maxStorageBufferBindingSize / 2 ** 20} MiB`);
    const peer = await ctx.peer();
    ctx.log(peer ? `peer: ${peer.note}` : 'peer: none');
    const records: ReduceRecord[] = [];
    for (const b of benches()) {
      if (args.shapes && !args.shapes.some((f) => b.label.includes(f))) continue;
      const recs = await runBench(ctx, b);
      for (const r of recs) {
        if (r.ms !== null) {
          ctx.log(`  ${r.variant.padEnd(34)} ${r.ms.toFixed(2).padStart(9)} ms  ${r.gbps!.toFixed(2).padStart(7)} GB/s  ${r.ratio === null ? '' : `${r.ratio.toFixed(2)}x TF.js`}  ${r.check}`);
        }
      }
      records.push(...recs);
    }
    return records;
  },
};
