// The matmul benchmark suite: every kernel variant and the engine's own choice ("auto") side by side with TF.js's
// WebGPU backend, on square shapes and the ProbeX shapes (forward and the two backward forms A B^T and A^T B), every
// result checked on sampled entries against a float64 CPU reference.
import { tensor, type Tensor } from '../src/node/index.ts';
import {
  MATMUL_VARIANTS,
  availableMatmulVariants,
  chooseMatmulVariant,
  matmulK,
  matmulVariantFits,
  planMatmul,
  type MatmulVariant,
} from '../src/core/prims/matmul.ts';
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

/** One benchmarked product: operands as stored (A [.., k, m] when transposed, B [.., n, k] when transposed). */
export interface MatmulShape {
  a: number[];
  b: number[];
  transA: boolean;
  transB: boolean;
  /** What it is, e.g. "square" or "ProbeX dB (A^T G)". */
  what: string;
  /** Only on a hardware adapter (too slow or too large for a software one) unless --all. */
  gpuOnly?: boolean;
}


/** Variants that are far slower than the rest on software adapters: run there only on small products unless --all. */
const SLOW_ON_SOFTWARE: MatmulVariant[] = ['naive', 'tiled', 'smem4x4', 'smem8x8'];
const SLOW_FLOP_CAP = 3e8;

const size = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);

/** Forward C = A B plus the two products its backward pass runs: dA = G B^T and dB = A^T G (G shaped like C). */
function withBackward(a: number[], b: number[], what: string, gpuOnly = false): MatmulShape[] {
  const m = a[a.length - 2];
  const n = b[b.length - 1];
  const g = [...(a.length >= b.length ? a.slice(0, -2) : b.slice(0, -2)), m, n];
  return [
    { a, b, transA: false, transB: false, what: `${what} forward`, gpuOnly },
    { a: g, b, transA: false, transB: true, what: `${what} dA = G B^T`, gpuOnly },
    { a, b: g, transA: true, transB: false, what: `${what} dB = A^T G`, gpuOnly },
  ];
}

/** A batched zoo Linear (M models, B drawings, y = x W^T with W [out, in]) and its backward: dx = G W, dW = G^T x. */
function zooLinear(models: number, batch: number, inF: number, outF: number, what: string): MatmulShape[] {
  const x = [models, batch, inF];
  const w = [models, outF, inF];
  const g = [models, batch, outF];
  return [
    { a: x, b: w, transA: false, transB: true, what: `${what} forward` },
    { a: g, b: w, transA: false, transB: false, what: `${what} dx = G W` },
    { a: g, b: x, transA: true, transB: false, what: `${what} dW = G^T x` },
  ];
}

export function matmulShapes(): MatmulShape[] {
  const squares = [256, 512, 1024, 2048, 4096, 8192].map(
    (n): MatmulShape => ({ a: [n, n], b: [n, n], transA: false, transB: false, what: 'square', gpuOnly: n > 1024 }),
  );
  return [
    ...squares,
    ...withBackward([128, 768, 768], [768, 128], 'ProbeX batched'),
    ...withBackward([128, 128, 768], [768, 128], 'ProbeX batched'),
    ...withBackward([128, 16384], [16384, 128], 'ProbeX'),
    ...withBackward([768, 98304], [98304, 128], 'ProbeX', true),
    ...zooLinear(32, 64, 784, 1024, 'zoo wide L0'),
    ...zooLinear(32, 64, 1024, 1024, 'zoo wide L1'),
    ...zooLinear(32, 64 * 17, 64, 64, 'zoo vit proj'),
    ...zooLinear(32, 64 * 17, 128, 64, 'zoo vit mlp2'),
  ];
}

/** Operands and output that exceed the device's binding limit get their leading batch dim halved until they fit. */
function fitToDevice(s: MatmulShape, maxBytes: number): { shape: MatmulShape; note?: string } {
  const bytes = (x: MatmulShape): number => {
    const p = planMatmul(x.a, x.b, x.transA, x.transB);
    return 4 * Math.max(size(x.a), size(x.b), size(p.outShape));
  };
  if (bytes(s) <= maxBytes) return { shape: s };
  if (s.a.length < 3) return { shape: s, note: `needs ${(bytes(s) / 2 ** 20).toFixed(0)} MiB bindings (limit ${(maxBytes / 2 ** 20).toFixed(0)} MiB)` };
  const full = s.a[0];
  let batch = full;
  const scaled = (bt: number): MatmulShape => ({ ...s, a: [bt, ...s.a.slice(1)], b: s.b.length === s.a.length ? [bt, ...s.b.slice(1)] : s.b });
  while (batch > 1 && bytes(scaled(batch)) > maxBytes) batch = Math.floor(batch / 2);
  return { shape: scaled(batch), note: `batch ${batch} of ${full}: the full shape exceeds this adapter's ${(maxBytes / 2 ** 20).toFixed(0)} MiB binding limit` };
}

export const shapeLabel = (s: MatmulShape): string => `[${s.a}]${s.transA ? '^T' : ''} x [${s.b}]${s.transB ? '^T' : ''}`;

/** Float64 reference of sampled output entries, each with a rounding bound (K + 4) 2^-24 sum |a b| + 1e-7. */
function referenceSamples(s: MatmulShape, A: Float32Array, B: Float32Array, count: number): Expected[] {
  const p = planMatmul(s.a, s.b, s.transA, s.transB);
  const { k } = p;
  const m = p.outShape[p.outShape.length - 2];
  const n = p.outShape[p.outShape.length - 1];
  const batchShape = p.outShape.slice(0, -2);
  const offset = (opShape: number[], bidx: number[]): number => {
    // Element offset of this batch entry in an operand whose batch dims broadcast against batchShape.
    const own = opShape.slice(0, -2);
    let off = 0;
    let stride = opShape[opShape.length - 1] * opShape[opShape.length - 2];
    for (let i = own.length - 1; i >= 0; i--) {
      const coord = own[i] === 1 ? 0 : bidx[batchShape.length - own.length + i];
      off += coord * stride;
      stride *= own[i];
    }
    return off;
  };
  return pickSamples(size(p.outShape), count).map((index) => {
    const j = index % n;
    const i = Math.floor(index / n) % m;
    let rest = Math.floor(index / (m * n));
    const bidx = new Array<number>(batchShape.length);
    for (let d = batchShape.length - 1; d >= 0; d--) {
      bidx[d] = rest % batchShape[d];
      rest = Math.floor(rest / batchShape[d]);
    }
    const ao = offset(s.a, bidx);
    const bo = offset(s.b, bidx);
    let want = 0;
    let abs = 0;
    for (let q = 0; q < k; q++) {
      const av = s.transA ? A[ao + q * m + i] : A[ao + i * k + q];
      const bv = s.transB ? B[bo + j * k + q] : B[bo + q * n + j];
      want += av * bv;
      abs += Math.abs(av * bv);
    }
    return { index, want, bound: (k + 4) * 2 ** -24 * abs + 1e-7 };
  });
}

async function runShape(ctx: BenchContext, s: MatmulShape, note: string | undefined): Promise<BenchRecord[]> {
  const { engine: e, info, args } = ctx;
  const plan = planMatmul(s.a, s.b, s.transA, s.transB);
  const flops = 2 * size(plan.outShape) * plan.k;
  const label = shapeLabel(s);
  const A = randomData(size(s.a), 1);
  const B = randomData(size(s.b), 2);
  const expected = referenceSamples(s, A, B, 48);
  const base = { op: 'matmul', shape: label, adapter: info.description, software: info.isSoftware, flops };
  const records: BenchRecord[] = [];
  const skip = (variant: string, why: string): void => {
    records.push({ ...base, variant, ms: null, gflops: null, peer_ms: null, ratio: null, min_ms: null, trials: 0, reps: 0, check: 'skipped', note: why });
  };

  const variants = MATMUL_VARIANTS.filter((v) => !args.variants || args.variants.includes(v));
  const ours: MatmulVariant[] = [];
  for (const v of variants) {
    if (!availableMatmulVariants(e).includes(v)) skip(v, 'not available on this device');
    else if (!matmulVariantFits(v, plan, e)) skip(v, 'grid exceeds the device limit');
    else if (info.isSoftware && !args.all && SLOW_ON_SOFTWARE.includes(v) && flops > SLOW_FLOP_CAP) skip(v, 'slow on a software adapter (--all runs it)');
    else ours.push(v);
  }
  const auto = chooseMatmulVariant(plan, e);
  const a = tensor(A, s.a);
  const b = tensor(B, s.b);
  const peer = await ctx.peer();
  const ta = peer?.tf.tensor(A, s.a);
  const tb = peer?.tf.tensor(B, s.b);

  const cands: (Candidate & { variant: string; chosen?: string; check: () => Promise<Float32Array> })[] = [];
  for (const v of [...ours, 'auto' as const]) {
    const choice = v === 'auto' ? {} : { variant: v };
    const run = (): Tensor => matmulK(a, b, s.transA, s.transB, choice);
    cands.push({
      name: v,
      variant: v,
      chosen: v === 'auto' ? auto : undefined,
      run: () => run().dispose(),
      sync: () => e.sync(),
      check: async () => {
        const c = run();
        try {
          return (await c.data()) as Float32Array;
        } finally {
          c.dispose();
        }
      },
    });
  }
  if (peer && ta && tb) {
    const { tf } = peer;
    cands.push({
      name: 'tfjs',
      variant: 'tfjs-webgpu (peer)',
      run: () => tf.matMul(ta, tb, s.transA, s.transB).dispose(),
      sync: () => peer.sync(),
      check: async () => {
        const c = tf.matMul(ta, tb, s.transA, s.transB);
        try {
          return (await c.data()) as Float32Array;
        } finally {
          c.dispose();
        }
      },
    });
  }
  try {
    const checks = new Map<string, ReturnType<typeof checkSamples>>();
    for (const c of cands) {
      const res = checkSamples(await c.check(), expected);
      checks.set(c.name, res);
      if (!res.ok) ctx.log(`  CHECK FAILED ${c.variant} on ${label}: ${res.worst}`);
    }
    const big = flops > 1e9;
    const timings = await timeSideBySide(cands, {
      trials: args.trials ?? (info.isSoftware && big ? 3 : 5),
      targetMs: info.isSoftware ? 150 : 100,
    });
    const peerMs = timings.get('tfjs')?.ms ?? null;
    for (const c of cands) {
      const t = timings.get(c.name)!;
      const chk = checks.get(c.name)!;
      records.push({
        ...base,
        variant: c.variant,
        chosen: c.chosen,
        ms: t.ms,
        gflops: gflops(flops, t.ms),
        peer_ms: peerMs,
        ratio: peerMs !== null && c.name !== 'tfjs' ? peerMs / t.ms : null,
        min_ms: t.min,
        trials: t.samples.length,
        reps: t.reps,
        check: chk.ok ? 'ok' : 'FAIL',
        max_err: chk.maxErr,
        note: c.name === 'tfjs' ? peer?.note : note,
      });
    }
  } finally {
    a.dispose();
    b.dispose();
    ta?.dispose();
    tb?.dispose();
  }
  return records;
}

export const suite: BenchSuite = {
  name: 'matmul',
  about: 'matmul kernel variants and the engine default vs TF.js WebGPU, square and ProbeX shapes, checked',
  variants: [...MATMUL_VARIANTS],
  async run(ctx) {
    const { engine: e, info, args } = ctx;
    attachTuning(ctx, 'choices per shape class');
    const peer = await ctx.peer();
    ctx.log(peer ? `peer: ${peer.note}` : 'peer: none');
    const maxBytes = e.device.limits.maxStorageBufferBindingSize;
    const records: BenchRecord[] = [];
    for (const s0 of matmulShapes()) {
      if (args.shapes && !args.shapes.some((f) => `${shapeLabel(s0)} ${s0.what}`.includes(f))) continue;
      const { shape: s, note: fitNote } = fitToDevice(s0, maxBytes);
      const label = shapeLabel(s);
      const note = [s.what, fitNote].filter(Boolean).join('; ');
      if (s0.gpuOnly && info.isSoftware && !args.all) {
        ctx.log(`${label}: skipped (GPU only; --all runs it)`);
        records.push({ op: 'matmul', variant: '-', shape: label, ms: null, gflops: null, peer_ms: null, ratio: null, adapter: info.description, software: true, flops: 0, min_ms: null, trials: 0, reps: 0, check: 'skipped', note: `${note}; skipped on a software adapter (GPU only)` });
        continue;
      }
      if (fitNote && s.a.length < 3 && 4 * Math.max(size(s.a), size(s.b)) > maxBytes) {
        ctx.log(`${label}: skipped (${fitNote})`);
        continue;
      }
      ctx.log(`${label} (${note}) ...`);
      const recs = await runShape(ctx, s, note);
      for (const r of recs) {
        const name = r.chosen ? `${r.variant} (${r.chosen})` : r.variant;
        if (r.ms !== null) ctx.log(`  ${name.padEnd(22)} ${r.ms.toFixed(2).padStart(9)} ms  ${r.gflops!.toFixed(2).padStart(7)} GFLOP/s  ${r.ratio === null ? '' : `${r.ratio.toFixed(2)}x TF.js`}  ${r.check}`);
      }
      records.push(...recs);
    }
    return records;
  },
};
