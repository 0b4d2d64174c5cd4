// Kernel launches for batched matmul with optional transposed operands and broadcast batch dims: the kernel variants
// (one WGSL source each, src/shaders/matmul*.wgsl), how each is launched, and which one runs: the autotuner's choice
// for the shape class when the engine has a tuning table (src/core/tune), else the default heuristic per shape class.
import { engine, type Engine } from '../engine.ts';
import type { Constants } from '../kernel.ts';
import { Tensor } from '../tensor.ts';
import { broadcastShapes, fmt, sizeOf } from '../shape.ts';
import { binaryK } from './elementwise.ts';
import { viewAs } from './reduce.ts';
import { standIn } from './stand-in.ts';
import { lookupChoice, matmulClassKey, type MatmulClassShape } from '../tune/table.ts';

const MAX_BATCH_RANK = 4;

/** Every matmul kernel variant, in the order reports list them. */
export const MATMUL_VARIANTS = [
  'naive',
  'tiled',
  'smem4x4',
  'smem8x8',
  'reg4x4',
  'reg8x8',
  'reg8x8-scalar',
  'subgroup',
  'splitk',
] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

export interface MatmulDims {
  m: number;
  n: number;
  k: number;
  batchShape: number[];
}

export function matmulDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean): MatmulDims {
  const what = `matmul${transA ? ' (A transposed)' : ''}${transB ? ' (B transposed)' : ''}`;
  if (a.length < 2 || b.length < 2) throw new Error(`${what}: operands must have rank >= 2, got ${fmt(a)} and ${fmt(b)}`);
  const [ar, ac] = a.slice(-2);
  const [br, bc] = b.slice(-2);
  const [m, ka] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (ka !== kb) throw new Error(`${what}: inner dimensions differ: ${fmt(a)} x ${fmt(b)} (${ka} vs ${kb})`);
  // Both errors name the full operand shapes, not just their batch parts.
  const batchShape = broadcastShapes(`${what}: batch dims of ${fmt(a)} x ${fmt(b)}`, a.slice(0, -2), b.slice(0, -2));
  if (batchShape.length > MAX_BATCH_RANK) {
    throw new Error(`${what}: at most ${MAX_BATCH_RANK} batch dims, got ${fmt(batchShape)} from ${fmt(a)} x ${fmt(b)}`);
  }
  return { m, n, k: ka, batchShape };
}

/** Element strides of each batch dim of an operand (0 where it is broadcast), padded to the output's batch rank. */
function batchStrides(shape: readonly number[], batchShape: number[]): number[] {
  const own = shape.slice(0, -2);
  const matrix = shape[shape.length - 1] * shape[shape.length - 2];
  const out = new Array<number>(batchShape.length).fill(0);
  let acc = matrix;
  for (let i = own.length - 1; i >= 0; i--) {
    const j = batchShape.length - own.length + i;
    out[j] = own[i] === 1 ? 0 : acc;
    acc *= own[i];
  }
  return out;
}

/**
 * A matmul as the kernels see it. When B is shared by every batch entry (broadcast) and A is neither transposed nor
 * broadcast, the batch is folded into M: [b, m, k] x [k, n] runs as one [b*m, k] x [k, n] product (same memory
 * layout for A and C), which gives the kernels one large problem instead of b small ones.
 */
export interface MatmulPlan {
  m: number;
  n: number;
  k: number;
  /** Matrices the kernel computes (1 when folded). */
  batch: number;
  /** The batch dims the kernel walks ([] when folded), and each operand's element strides along them. */
  kernelBatchShape: number[];
  aStrides: number[];
  bStrides: number[];
  transA: boolean;
  transB: boolean;
  /** The output's shape: [...batch dims as given, M, N]. */
  outShape: number[];
  folded: boolean;
}

export function planMatmul(aShape: readonly number[], bShape: readonly number[], transA: boolean, transB: boolean): MatmulPlan {
  const { m, n, k, batchShape } = matmulDims(aShape, bShape, transA, transB);
  const batch = sizeOf(batchShape);
  const aStrides = batchStrides(aShape, batchShape);
  const bStrides = batchStrides(bShape, batchShape);
  const aOwnsBatch = sizeOf(aShape.slice(0, -2)) === batch;
  const outShape = [...batchShape, m, n];
  if (batch > 1 && !transA && aOwnsBatch && bStrides.every((s) => s === 0)) {
    return { m: batch * m, n, k, batch: 1, kernelBatchShape: [], aStrides: [], bStrides: [], transA, transB, outShape, folded: true };
  }
  return { m, n, k, batch, kernelBatchShape: batchShape, aStrides, bStrides, transA, transB, outShape, folded: false };
}

export function matmulClass(p: MatmulPlan): MatmulClassShape {
  return { batch: p.batch, m: p.m, n: p.n, k: p.k, transA: p.transA, transB: p.transB };
}

/** A bias the kernel adds to every row of C as it stores it: bias[batch * stride + col]. */
interface FusedBias {
  buffer: GPUBuffer;
  /** 0: one [n] vector for every batch entry; n: one per batch entry, in the output's batch order. */
  stride: number;
}

interface Launch {
  e: Engine;
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  p: MatmulPlan;
  bias?: FusedBias;
  splits?: number;
  /** First batch entry of this launch: a batch longer than the grid's z limit runs as several launches. */
  offset?: number;
}

interface VariantSpec {
  about: string;
  /** Whether this device can run it (default: always). */
  available?: (e: Engine) => boolean;
  /** Workgroups of its (main) pass, to check against the per-dimension limit. */
  grid: (p: MatmulPlan, e: Engine) => [number, number, number];
  launch: (l: Launch) => void;
}

function common(p: MatmulPlan, offset = 0): Record<string, number | number[]> {
  return {
    batch_offset: offset,
    m: p.m,
    n: p.n,
    k: p.k,
    batch_rank: p.kernelBatchShape.length,
    batch_shape: p.kernelBatchShape,
    a_batch_strides: p.aStrides,
    b_batch_strides: p.bStrides,
  };
}

// vec4 views: the contiguous dimension must be a multiple of 4 (so every row, and every batch entry, starts on a
// 16-byte boundary) and the buffer must hold at least one vec4 to be bound as array<vec4<f32>>.
const vecA = (p: MatmulPlan, buf: GPUBuffer): boolean => (p.transA ? p.m : p.k) % 4 === 0 && buf.size >= 16;
const vecB = (p: MatmulPlan, buf: GPUBuffer): boolean => (p.transB ? p.k : p.n) % 4 === 0 && buf.size >= 16;

/** What to bind as a vec4 view: the buffer itself, or the stand-in when it is smaller than one vec4. */
function vecView(e: Engine, buf: GPUBuffer): GPUBuffer {
  return buf.size >= 16 ? buf : standIn(e);
}

/**
 * Threads per workgroup for the register kernels. GPUs: enough that WG * cols covers N, 16 to 64. Software adapters:
 * 16, so a workgroup's column panel of B (16 * cols columns x K) stays in a core's cache while consecutive workgroups
 * walk down M (on lavapipe 16 beat 32 and 64 at 512^2 and 1024^2); 8 (lavapipe's subgroup size) when 8 threads
 * already cover N, since threads past N still run as masked lanes: the ViT's attention products (17 x 17 and 17 x 16
 * matrices, a batch of 8,192) ran in 40-43 ms instead of 73-87 ms.
 */
function wgFor(e: Engine, n: number, cols: number): number {
  if (e.info.isSoftware) return n <= 8 * cols ? 8 : 16;
  let wg = 16;
  while (wg < 64 && wg * cols < n) wg *= 2;
  return wg;
}

/**
 * Threads per workgroup for the subgroup kernel: as wgFor on software adapters (8 when 8 threads cover N: lavapipe's
 * subgroups are 8 wide, and the ViT's 64-column products wasted half of a 16-thread workgroup), 64 on GPUs; rounded up
 * to a multiple of the largest subgroup size, so that every subgroup is full.
 */
function subgroupWg(e: Engine, n: number): number {
  const sg = e.info.subgroupMaxSize ?? 64;
  const want = e.info.isSoftware ? wgFor(e, n, 8) : 64;
  return Math.ceil(want / sg) * sg;
}

/** A register-blocked kernel (reg4x4, reg8x8, subgroup, splitk's first pass): TM rows, cols columns per thread. */
function regGrid(p: MatmulPlan, tm: number, cols: number, wg: number, z = p.batch): [number, number, number] {
  return [Math.ceil(p.m / tm), Math.ceil(p.n / (wg * cols)), z];
}

/** The bias binding and parameter of a launch; without a bias, A stands in for the unread binding. */
function biasArgs(l: Launch): { buffer: GPUBuffer; stride: number; on: boolean } {
  return l.bias ? { ...l.bias, on: true } : { buffer: l.a, stride: 0, on: false };
}

/**
 * transVec: the kernel also reads transposed operands as vec4 (subgroup): A stored [K, M] along M, B stored [N, K]
 * along K, and binds `a4`.
 */
function runReg(shader: string, l: Launch, tm: number, cols: number, wg: number, vec: boolean, transVec = false): void {
  const { e, p } = l;
  const bias = biasArgs(l);
  const constants: Constants = { TRANS_A: p.transA, TRANS_B: p.transB, VEC_B: vec && (!p.transB || transVec) && vecB(p, l.b), WG: wg, BIAS: bias.on };
  const buffers: Record<string, GPUBuffer> = { a: l.a, b: l.b, b4: vecView(e, l.b), c: l.c, bias: bias.buffer };
  if (transVec) {
    constants.VEC_A = p.transA && vecA(p, l.a);
    buffers.a4 = vecView(e, l.a);
  }
  e.run(shader, {
    constants,
    buffers,
    params: { ...common(p, l.offset), bias_stride: bias.stride },
    workgroups: regGrid(p, tm, cols, wg),
  });
}

/** Fewest K elements per split-K chunk, and most chunks. */
const SPLITK_MIN_CHUNK = 256;
const SPLITK_MAX_SPLITS = 64;

/** Split-K chunks: enough workgroups to fill the device (32 on a software adapter, 512 on a GPU), chunks >= 256. */
export function defaultSplits(p: MatmulPlan, e: Engine): number {
  const wg = wgFor(e, p.n, 4);
  const tiles = regGrid(p, 8, 4, wg).reduce((x, y) => x * y, 1);
  const target = e.info.isSoftware ? 32 : 512;
  return Math.max(1, Math.min(Math.ceil(target / tiles), Math.floor(p.k / SPLITK_MIN_CHUNK), SPLITK_MAX_SPLITS));
}

function launchSplitK(l: Launch): void {
  const { e, p } = l;
  if (l.offset) throw new Error('matmul: split-K cannot run a slice of the batch');
  const limits = e.device.limits;
  const total = p.batch * p.m * p.n;
  let splits = Math.max(1, Math.min(l.splits ?? defaultSplits(p, e), p.k));
  splits = Math.min(splits, Math.floor(limits.maxComputeWorkgroupsPerDimension / p.batch));
  splits = Math.min(splits, Math.floor(limits.maxStorageBufferBindingSize / (4 * total)));
  splits = Math.max(1, splits);
  const chunk = Math.ceil(p.k / splits / 4) * 4;
  splits = Math.ceil(p.k / chunk);
  const part = e.pool.acquire(4 * total * splits, 'matmul split-K partials');
  const wg = wgFor(e, p.n, 4);
  e.run('matmul_splitk', {
    constants: { TRANS_A: p.transA, TRANS_B: p.transB, VEC_B: !p.transB && vecB(p, l.b), WG: wg },
    buffers: { a: l.a, b: l.b, b4: vecView(e, l.b), part },
    params: { ...common(p), batch: p.batch, k_chunk: chunk },
    workgroups: regGrid(p, 8, 4, wg, p.batch * splits),
  });
  const bias = biasArgs(l);
  e.run('matmul_splitk_reduce', {
    constants: { BIAS: bias.on },
    buffers: { part, c: l.c, bias: bias.buffer },
    params: { total, splits, n: p.n, mn: p.m * p.n, bias_stride: bias.stride },
    threads: total,
  });
  // Later dispatches that reuse the buffer run after these ones: the queue keeps their order.
  e.pool.release(part);
}

function runSmem(shader: string, l: Launch, tile: number, vec: boolean): void {
  const { e, p } = l;
  const bias = biasArgs(l);
  const constants: Constants = vec
    ? { TRANS_A: p.transA, TRANS_B: p.transB, VEC_A: vecA(p, l.a), VEC_B: vecB(p, l.b), BIAS: bias.on }
    : { TRANS_A: p.transA, TRANS_B: p.transB, BIAS: bias.on };
  const buffers: Record<string, GPUBuffer> = vec
    ? { a: l.a, a4: vecView(e, l.a), b: l.b, b4: vecView(e, l.b), c: l.c, bias: bias.buffer }
    : { a: l.a, b: l.b, c: l.c, bias: bias.buffer };
  const params = { ...common(p, l.offset), bias_stride: bias.stride };
  e.run(shader, { constants, buffers, params, workgroups: [Math.ceil(p.n / tile), Math.ceil(p.m / tile), p.batch] });
}

const tileGrid = (tile: number) => (p: MatmulPlan): [number, number, number] => [Math.ceil(p.n / tile), Math.ceil(p.m / tile), p.batch];

const VARIANTS: Record<MatmulVariant, VariantSpec> = {
  naive: {
    about: 'one thread per output, K loop over global memory',
    grid: tileGrid(16),
    launch: (l) => runSmem('matmul_naive', l, 16, false),
  },
  tiled: {
    about: '16x16 tiles staged in workgroup memory, one output per thread',
    grid: tileGrid(16),
    launch: (l) => runSmem('matmul_tiled', l, 16, false),
  },
  smem4x4: {
    about: '64x64 tiles in workgroup memory, 4x4 outputs per thread in registers',
    grid: tileGrid(64),
    launch: (l) => runSmem('matmul', l, 64, false),
  },
  smem8x8: {
    about: '128x128 tiles in workgroup memory, 8x8 outputs per thread, vec4 global loads',
    grid: tileGrid(128),
    launch: (l) => runSmem('matmul_smem8x8', l, 128, true),
  },
  reg4x4: {
    about: 'no workgroup memory: 4 uniform rows x 4 columns per thread, vec4 loads of B',
    grid: (p, e) => regGrid(p, 4, 4, wgFor(e, p.n, 4)),
    launch: (l) => runReg('matmul_reg4x4', l, 4, 4, wgFor(l.e, l.p.n, 4), true),
  },
  reg8x8: {
    about: 'no workgroup memory: 8 uniform rows x 8 columns per thread, vec4 loads of B',
    grid: (p, e) => regGrid(p, 8, 8, wgFor(e, p.n, 8)),
    launch: (l) => runReg('matmul_reg8x8', l, 8, 8, wgFor(l.e, l.p.n, 8), true),
  },
  'reg8x8-scalar': {
    about: 'reg8x8 with scalar loads only (the vec4 comparison)',
    grid: (p, e) => regGrid(p, 8, 8, wgFor(e, p.n, 8)),
    launch: (l) => runReg('matmul_reg8x8', l, 8, 8, wgFor(l.e, l.p.n, 8), false),
  },
  subgroup: {
    about: 'reg8x8 layout, A loaded once per subgroup and shared with subgroupShuffle (subgroups feature)',
    available: (e) => e.device.features.has('subgroups') && subgroupWg(e, Infinity) <= e.device.limits.maxComputeWorkgroupSizeX,
    grid: (p, e) => regGrid(p, 8, 8, subgroupWg(e, p.n)),
    launch: (l) => runReg('matmul_subgroup', l, 8, 8, subgroupWg(l.e, l.p.n), true, true),
  },
  splitk: {
    about: 'K split into chunks, partial products in a scratch buffer, then a reduce pass',
    // z grows with the chunks, which launchSplitK caps at the limit.
    grid: (p, e) => regGrid(p, 8, 4, wgFor(e, p.n, 4)),
    launch: launchSplitK,
  },
};

export function matmulVariantAbout(v: MatmulVariant): string {
  return VARIANTS[v].about;
}

export function matmulVariantAvailable(v: MatmulVariant, e: Engine = engine()): boolean {
  return VARIANTS[v].available?.(e) ?? true;
}

/** The variants this device can run. */
export function availableMatmulVariants(e: Engine = engine()): MatmulVariant[] {
  return MATMUL_VARIANTS.filter((v) => matmulVariantAvailable(v, e));
}

/** Whether a variant's workgroup grid fits the device's per-dimension limit for this plan. */
export function matmulVariantFits(v: MatmulVariant, p: MatmulPlan, e: Engine = engine()): boolean {
  const max = e.device.limits.maxComputeWorkgroupsPerDimension;
  return VARIANTS[v].grid(p, e).every((g) => g <= max);
}

/**
 * The default variant per shape class (used when the engine has no tuned choice for the class):
 * - long K with a small output (K >= 1024, K >= 4 max(M, N), and so few output tiles that defaultSplits asks for 4 or
 *   more chunks to fill the device): splitk, since the other kernels would leave most of the device idle walking K;
 * - software adapters (lavapipe, SwiftShader), which run a workgroup as SIMD loops over its lanes, where workgroup
 *   memory and barriers cost more than they save: subgroup (when the device has subgroups) or reg8x8 from M >= 8 and
 *   N >= 64, reg4x4 below that. Measured on lavapipe (2 cores) at 512^2 and 1024^2: subgroup 14-17 GFLOP/s, reg8x8
 *   9-12, smem4x4 2-3, TF.js WebGPU 3-4;
 * - GPUs: smem8x8 when there are at least 64 of its 128x128 tiles, smem4x4 from 64x64 outputs, tiled below that. This
 *   GPU branch follows the usual occupancy reasoning; it has not been measured here (no GPU), so run the autotuner.
 */
export function defaultMatmulVariant(p: MatmulPlan, e: Engine = engine()): MatmulVariant {
  const software = e.info.isSoftware;
  if (p.k >= 1024 && p.k >= 4 * Math.max(p.m, p.n) && defaultSplits(p, e) >= 4) return 'splitk';
  if (software) {
    if (p.m < 8 || p.n < 64) return 'reg4x4';
    return matmulVariantAvailable('subgroup', e) ? 'subgroup' : 'reg8x8';
  }
  const tiles128 = p.batch * Math.ceil(p.m / 128) * Math.ceil(p.n / 128);
  if (tiles128 >= 64) return 'smem8x8';
  if (p.batch * p.m * p.n >= 64 * 64) return 'smem4x4';
  return 'tiled';
}

/** Fallbacks, in order, when the chosen variant's grid exceeds the device limit (very tall or wide products). */
const FALLBACKS: MatmulVariant[] = ['smem8x8', 'reg8x8', 'smem4x4', 'tiled'];

/** The variant matmulK runs for a plan: forced, else tuned for the class on this adapter, else the heuristic. */
export function chooseMatmulVariant(p: MatmulPlan, e: Engine = engine(), forced?: MatmulVariant, sliced = false): MatmulVariant {
  if (forced) {
    if (!VARIANTS[forced]) throw new Error(`matmul: unknown variant "${forced}" (have ${MATMUL_VARIANTS.join(', ')})`);
    if (!matmulVariantAvailable(forced, e)) throw new Error(`matmul: variant "${forced}" is not available on this device`);
    if (!matmulVariantFits(forced, p, e)) throw new Error(`matmul: variant "${forced}" needs more workgroups than this device allows`);
    return forced;
  }
  const tuned = lookupChoice(e, matmulClassKey(matmulClass(p)))?.variant as MatmulVariant | undefined;
  const first = tuned && tuned in VARIANTS && matmulVariantAvailable(tuned, e) ? tuned : defaultMatmulVariant(p, e);
  for (const v of [first, ...FALLBACKS]) if (matmulVariantFits(v, p, e) && !(sliced && v === 'splitk')) return v;
  throw new Error(`matmul: [${p.batch}, ${p.m}, ${p.k}] x [${p.k}, ${p.n}] needs more workgroups than this device allows`);
}

export interface MatmulChoice {
  /** Run this variant instead of the tuned or default choice (tests, benchmarks, the autotuner). */
  variant?: MatmulVariant;
  /** Split-K chunks (splitk only; default: defaultSplits). */
  splits?: number;
}

/** C = op(A) op(B), op = optional transpose, batch dims broadcast; returns a new [...batch, m, n] tensor. */
export function matmulK(a: Tensor, b: Tensor, transA = false, transB = false, choice: MatmulChoice = {}): Tensor {
  return matmulBiasK(a, b, null, transA, transB, choice);
}

/**
 * How a bias of `shape` is added to the plan's output: fused into the kernels' store (a shared [n] vector, or one per
 * batch entry in the output's own batch order, when the batch was not folded into rows), or by a broadcast add after
 * the product (any other shape that broadcasts to [...batch, 1, n]).
 */
function biasPlan(p: MatmulPlan, shape: readonly number[]): { fused: boolean; stride: number; rowShape: number[] } {
  const batch = p.outShape.slice(0, -2);
  const n = p.outShape[p.outShape.length - 1];
  const lead = shape.slice(0, -1);
  if (shape.length === 0 || shape[shape.length - 1] !== n) {
    throw new Error(`matmul: bias ${fmt(shape)} does not end in the output's ${n} columns (output ${fmt(p.outShape)})`);
  }
  const rowShape = [...lead, 1, n];
  const joint = broadcastShapes(`matmul: bias ${fmt(shape)} against output ${fmt(p.outShape)}`, rowShape, p.outShape);
  if (joint.length !== p.outShape.length || joint.some((d, i) => d !== p.outShape[i])) {
    throw new Error(`matmul: bias ${fmt(shape)} would grow the output ${fmt(p.outShape)} to ${fmt(joint)}`);
  }
  if (sizeOf(lead) === 1) return { fused: true, stride: 0, rowShape };
  const own = !p.folded && lead.length === batch.length && lead.every((d, i) => d === batch[i]);
  return { fused: own, stride: n, rowShape };
}

/** matmulK plus a bias added to every row: C = op(A) op(B) + bias, bias [..., n] broadcast against [...batch, 1, n]. */
export function matmulBiasK(a: Tensor, b: Tensor, bias: Tensor | null, transA = false, transB = false, choice: MatmulChoice = {}): Tensor {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error(`matmul: expects f32 tensors, got ${a.dtype} and ${b.dtype}`);
  if (bias && bias.dtype !== 'f32') throw new Error(`matmul: bias must be f32, got ${bias.dtype}`);
  const p = planMatmul(a.shape, b.shape, transA, transB);
  const e = engine();
  const bp = bias ? biasPlan(p, bias.shape) : null;
  if (bias && bp && (!bp.fused || p.k === 0)) {
    const product = matmulBiasK(a, b, null, transA, transB, choice);
    const row = viewAs(bias, bp.rowShape);
    const out = binaryK('add', product, row);
    product.dispose();
    row.dispose();
    return out;
  }
  const c = Tensor.empty(p.outShape, 'f32', 'matmul');
  if (c.size === 0) return c;
  if (p.k === 0) {
    e.clear(c.buffer, 0, c.byteLength);
    return c;
  }
  const fused = bias && bp ? { buffer: bias.buffer, stride: bp.stride } : undefined;
  // The grid's z walks the batch; a longer batch (e.g. attention over 1,000 models x 64 drawings x 4 heads) runs in
  // slices, each kernel adding its slice's first entry to z. The variant is chosen for the slice's batch.
  const limit = e.device.limits.maxComputeWorkgroupsPerDimension;
  const sliced = p.batch > limit;
  if (sliced && choice.variant === 'splitk') throw new Error(`matmul: variant "splitk" cannot run a batch of ${p.batch} (more than the ${limit} one launch allows)`);
  for (let offset = 0; offset < p.batch; offset += limit) {
    const part = sliced ? { ...p, batch: Math.min(limit, p.batch - offset) } : p;
    const variant = chooseMatmulVariant(part, e, choice.variant, sliced);
    VARIANTS[variant].launch({ e, a: a.buffer, b: b.buffer, c: c.buffer, p: part, splits: choice.splits, offset, bias: fused });
  }
  return c;
}
