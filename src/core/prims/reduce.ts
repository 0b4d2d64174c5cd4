// Kernel launches for reductions (sum/max/min, logsumexp, argmax/argmin, fused softmax) as passes over [outer, r,
// inner] views, each planned by a chooser: forced (setReduceChooser), else the tuning table, else defaultReducePlan.
import { engine, type Engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { broadcastAxes, normAxes, normAxis, reducedShape, sameShape, sizeOf, fmt, type Shape } from '../shape.ts';
import { lookupChoice, sizeClass } from '../tune/table.ts';

export const REDUCE = { sum: 0, max: 1, min: 2 } as const;
/** Reductions with a value result; logsumexp runs on the softmax kernels (MODE 2). */
export type ReduceOp = keyof typeof REDUCE | 'logsumexp';
/** Kernel families: plain sum/max/min, (value, index) arg-reductions, online (max, sum-exp) softmax statistics. */
export type ReduceFamily = 'reduce' | 'arg' | 'softmax';
/**
 * How one pass runs. tree: a workgroup per (row, chunk) with a tree in workgroup memory; subgroup: the same with
 * subgroup operations (needs the `subgroups` feature and WGSL's subgroup_id); thread: a thread per (outer, chunk,
 * inner) output walking the axis. tree and subgroup apply to contiguous rows (inner = 1); inner > 1 always uses thread.
 */
export type PassKernel = 'tree' | 'subgroup' | 'thread';

/** One pass to plan: the [outer, r, inner] view it reduces over its middle axis. */
export interface ReduceProblem {
  family: ReduceFamily;
  outer: number;
  r: number;
  inner: number;
  /** 0 for the pass over the input, 1, 2, ... for passes over the partials of a multi-pass split. */
  pass: number;
  /** Whether this device can run the subgroup kernels. */
  subgroups: boolean;
  /** A CPU implementation (lavapipe, SwiftShader): planned for its own costs, see defaultReducePlan. */
  software: boolean;
}

export interface ReducePlan {
  kernel: PassKernel;
  /** Threads per workgroup: a power of two, 8 to 256. */
  wg: number;
  /** Split the axis into this many chunks reduced to partials [outer, chunks, inner] (reduced by further passes). */
  chunks: number;
}

export type ReduceChooser = (p: ReduceProblem) => ReducePlan;

/** Workgroups that keep a large GPU busy (about 8 per SM on a 100-SM part). */
const TARGET_GROUPS = 1024;
/** Threads that keep a large GPU busy for thread-per-output passes. */
const TARGET_THREADS = 65536;
/** Rows up to this length get a thread each, not a workgroup. */
const SHORT_ROW = 32;
/** Contiguous chunks are at least this long, so that each workgroup streams enough to hide its start-up. */
const MIN_ROW_CHUNK = 8192;
/** Strided chunks are at least this long. */
const MIN_STRIDED_CHUNK = 32;
/** On software adapters: outputs (SIMD lanes over both cores) to aim for, and the shortest chunk worth a lane. */
const SOFTWARE_OUTPUTS = 256;
const SOFTWARE_CHUNK = 1024;

/** Chunks that bring `have` parallel units up to about `target`, each chunk at least `min` long (1: no split). */
function splitFor(have: number, target: number, r: number, min: number): number {
  if (have >= target || r < 2 * min) return 1;
  return Math.max(1, Math.min(Math.ceil(target / have), Math.floor(r / min)));
}

/**
 * The default plan per shape class. Contiguous rows (inner = 1): rows of at most 32 elements get a thread each;
 * longer rows a workgroup each (subgroup kernel when available, else tree; 64, 128 or 256 threads for rows under
 * 512, under 2048, longer); when there are fewer than TARGET_GROUPS / 4 rows and they are at least 2 * 8192 long,
 * each row is split over up to TARGET_GROUPS / rows workgroups of at least 8192 elements, and a second pass reduces
 * the partials. Non-last axes (inner > 1): a thread per output; when there are fewer than TARGET_THREADS outputs and
 * the axis is 64 or longer, it is split into chunks of at least 32 so that about TARGET_THREADS threads run, and
 * further passes reduce the partials. This GPU branch is derived from the execution model (occupancy, coalescing), not
 * from measurements on a particular GPU.
 *
 * Software adapters run a workgroup as loops over SIMD lanes, where barriers and idle lanes are costly: measured on
 * lavapipe (2 cores), a thread per output beat the tree and subgroup kernels on every shape class tried but one
 * (sums over the first axis of [2^20, 16], 1.3x slower), by 2-100x on rows; so there every pass is thread-per-output,
 * split to about 256 outputs when the axis has 2048 or more elements.
 */
export function defaultReducePlan(p: ReduceProblem): ReducePlan {
  const outputs = p.outer * p.inner;
  if (p.software) return { kernel: 'thread', wg: 64, chunks: splitFor(outputs, SOFTWARE_OUTPUTS, p.r, SOFTWARE_CHUNK) };
  if (p.inner > 1 || p.r <= SHORT_ROW) {
    return { kernel: 'thread', wg: 256, chunks: splitFor(outputs, TARGET_THREADS, p.r, MIN_STRIDED_CHUNK) };
  }
  const chunks = p.outer < TARGET_GROUPS / 4 ? splitFor(p.outer, TARGET_GROUPS, p.r, MIN_ROW_CHUNK) : 1;
  const len = Math.ceil(p.r / chunks);
  const wg = len < 512 ? 64 : len < 2048 ? 128 : 256;
  return { kernel: p.subgroups ? 'subgroup' : 'tree', wg, chunks };
}

/**
 * Named variants, for benchmarks and tuning tables: "<kernel>-<wg>" runs the axis in one pass, "<kernel>-<wg>-split"
 * splits it into chunks (as many as the default rule would use, at least 2) and reduces the partials in further
 * passes planned by the default rule. E.g. "subgroup-256", "tree-64-split", "thread-64".
 */
export function reduceVariantPlan(name: string, p: ReduceProblem): ReducePlan | null {
  const m = /^(tree|subgroup|thread)-(\d+)(-split)?$/.exec(name);
  if (!m) return null;
  const kernel = m[1] as PassKernel;
  const wg = Number(m[2]);
  if (!m[3]) return { kernel, wg, chunks: 1 };
  if (p.pass > 0) return defaultReducePlan(p);
  const rows = kernel !== 'thread' && p.inner === 1;
  const chunks = rows
    ? Math.max(2, Math.min(Math.ceil(TARGET_GROUPS / p.outer), Math.floor(p.r / MIN_ROW_CHUNK)))
    : Math.max(2, Math.min(Math.ceil(TARGET_THREADS / (p.outer * p.inner)), Math.floor(p.r / MIN_STRIDED_CHUNK)));
  return { kernel, wg, chunks };
}

/** The variants worth timing for a problem (what a tuner would try); subgroup ones only where they can run. */
export function reduceCandidates(p: ReduceProblem): string[] {
  const out: string[] = [];
  const kernels: PassKernel[] = p.inner > 1 ? ['thread'] : p.subgroups ? ['tree', 'subgroup', 'thread'] : ['tree', 'thread'];
  for (const k of kernels) {
    for (const wg of [64, 256]) {
      out.push(`${k}-${wg}`);
      if (p.r >= 2 * (k === 'thread' ? MIN_STRIDED_CHUNK : MIN_ROW_CHUNK)) out.push(`${k}-${wg}-split`);
    }
  }
  return out;
}

/** The tuning-table key of a pass: family, first or later pass, and the size classes of outer, r and inner. */
export function reduceClassKey(p: ReduceProblem): string {
  return `reduce ${p.family} ${p.pass === 0 ? 'first' : 'partials'} o${sizeClass(p.outer)} r${sizeClass(p.r)} i${sizeClass(p.inner)}`;
}

let chooser: ReduceChooser | null = null;

/**
 * Replace the per-pass chooser (null restores the default: a tuned choice for the pass's class from the engine's
 * tuning table when there is one, else defaultReducePlan); returns the previous one.
 */
export function setReduceChooser(c: ReduceChooser | null): ReduceChooser | null {
  const prev = chooser;
  chooser = c;
  return prev;
}

const subgroupSupport = new WeakMap<Engine, boolean>();

/** The subgroup kernels need the `subgroups` device feature and the subgroup_id WGSL builtin. */
export function hasSubgroups(e: Engine = engine()): boolean {
  let ok = subgroupSupport.get(e);
  if (ok === undefined) {
    // Browsers without WGSL language-feature reporting have no subgroup_id either.
    ok = e.device.features.has('subgroups') && e.gpu?.wgslLanguageFeatures?.has('subgroup_id') === true;
    subgroupSupport.set(e, ok);
  }
  return ok;
}

interface Pass {
  kernel: PassKernel;
  wg: number;
  /** Chunks actually used (no empty chunk) and their length. */
  chunks: number;
  chunk: number;
}

/** Ask the chooser, then make the plan safe: kernels that fit the view, a power-of-two size, progress when splitting. */
function planPass(family: ReduceFamily, outer: number, r: number, inner: number, pass: number, e: Engine): Pass {
  const subgroups = hasSubgroups(e);
  const problem: ReduceProblem = { family, outer, r, inner, pass, subgroups, software: e.info.isSoftware };
  let plan: ReducePlan | null = chooser ? chooser(problem) : null;
  if (!plan) {
    const tuned = lookupChoice(e, reduceClassKey(problem));
    plan = (tuned && reduceVariantPlan(tuned.variant, problem)) || defaultReducePlan(problem);
  }
  let kernel = plan.kernel;
  if (inner > 1) kernel = 'thread';
  if (kernel === 'subgroup' && !subgroups) kernel = 'tree';
  const wg = Math.min(256, Math.max(8, 2 ** Math.round(Math.log2(Math.max(1, plan.wg)))));
  if (r <= 1) return { kernel, wg, chunks: 1, chunk: r };
  const want = Math.min(Math.max(1, Math.floor(plan.chunks)), Math.ceil(r / 2));
  const chunk = Math.ceil(r / want);
  return { kernel, wg, chunks: Math.ceil(r / chunk), chunk };
}

/** Launch one pass: `rows` kernels get a workgroup per (row, chunk), `thread` kernels a thread per output. */
function launch(
  e: Engine,
  shaders: { tree: string; subgroup: string; thread: string },
  p: Pass,
  outer: number,
  r: number,
  inner: number,
  constants: Record<string, number | boolean>,
  buffers: Record<string, GPUBuffer>,
): void {
  if (p.kernel === 'thread') {
    e.run(shaders.thread, {
      constants: { ...constants, WG: p.wg },
      buffers,
      params: { outer, r, inner, chunk: p.chunk, chunks: p.chunks },
      threads: outer * p.chunks * inner,
    });
  } else {
    e.run(p.kernel === 'subgroup' ? shaders.subgroup : shaders.tree, {
      constants: { ...constants, WG: p.wg },
      buffers,
      params: { rows: outer, r, chunk: p.chunk, chunks: p.chunks },
      workgroups: e.gridFor(outer * p.chunks, 1),
    });
  }
}

const REDUCE_SHADERS = { tree: 'reduce_rows', subgroup: 'reduce_rows_sg', thread: 'reduce_strided' };
const ARG_SHADERS = { tree: 'argreduce_rows', subgroup: 'argreduce_rows_sg', thread: 'argreduce' };
const SOFTMAX_SHADERS = { tree: 'softmax_rows', subgroup: 'softmax_rows_sg', thread: 'softmax_strided' };

/** A one-element scratch tensor for a writable binding that a kernel mode never writes. */
function scratch(): Tensor {
  return Tensor.empty([1], 'f32', 'reduce scratch');
}

/** sum/max/min of the middle axis of [outer, r, inner], into a tensor of `outShape` (outer * inner elements). */
function reduceSimple(op: keyof typeof REDUCE, x: Tensor, outer: number, r: number, inner: number, outShape: number[]): Tensor {
  const e = engine();
  let cur = x;
  let len = r;
  for (let pass = 0; ; pass++) {
    const p = planPass('reduce', outer, len, inner, pass, e);
    const y = Tensor.empty(p.chunks === 1 ? outShape : [outer, p.chunks, inner], 'f32', op);
    launch(e, REDUCE_SHADERS, p, outer, len, inner, { OP: REDUCE[op] }, { x: cur.buffer, y: y.buffer });
    if (cur !== x) cur.dispose();
    cur = y;
    if (p.chunks === 1) return y;
    len = p.chunks;
  }
}

/**
 * Online (max, sum of exp(x - max)) statistics of the middle axis of [outer, r, inner], in as many passes as the plans
 * ask. mode 2 (logsumexp): the last pass writes m + log(s) into `outShape`. mode 0 or 1 (softmax, log-softmax): when
 * the first pass covers the whole axis it writes the result (the fused one-kernel path); otherwise the (m, s) pairs
 * of every line are returned for softmax_apply.
 */
function softmaxStats(
  x: Tensor,
  outer: number,
  r: number,
  inner: number,
  mode: 0 | 1 | 2,
  outShape: number[],
): { y: Tensor } | { m: Tensor; s: Tensor } {
  const e = engine();
  let m: Tensor = x;
  let s: Tensor | null = null;
  let len = r;
  for (let pass = 0; ; pass++) {
    const p = planPass('softmax', outer, len, inner, pass, e);
    const pairsIn = s !== null;
    const done = p.chunks === 1;
    const fused = done && (mode === 2 || pass === 0);
    const buffers = (y: Tensor, ys: Tensor): Record<string, GPUBuffer> => ({
      x: m.buffer,
      xs: (s ?? m).buffer,
      y: y.buffer,
      ys: ys.buffer,
    });
    if (fused) {
      const y = Tensor.empty(mode === 2 ? outShape : [...x.shape], 'f32', mode === 2 ? 'logsumexp' : 'softmax');
      const spare = scratch();
      launch(e, SOFTMAX_SHADERS, p, outer, len, inner, { MODE: mode, PAIRS_IN: pairsIn }, buffers(y, spare));
      spare.dispose();
      if (m !== x) m.dispose();
      s?.dispose();
      return { y };
    }
    const shape = done ? [outer, inner] : [outer, p.chunks, inner];
    const ym = Tensor.empty(shape, 'f32', 'softmax max');
    const ys = Tensor.empty(shape, 'f32', 'softmax sum');
    launch(e, SOFTMAX_SHADERS, p, outer, len, inner, { MODE: 3, PAIRS_IN: pairsIn }, buffers(ym, ys));
    if (m !== x) m.dispose();
    s?.dispose();
    m = ym;
    s = ys;
    if (done) return { m, s };
    len = p.chunks;
  }
}

/** One run of adjacent axes: the reduction of the middle axis of [outer, r, inner]. */
function reduceRun(op: ReduceOp, x: Tensor, outer: number, r: number, inner: number, outShape: number[]): Tensor {
  if (op !== 'logsumexp') return reduceSimple(op, x, outer, r, inner, outShape);
  const res = softmaxStats(x, outer, r, inner, 2, outShape);
  if ('y' in res) return res.y;
  throw new Error('logsumexp: internal error, no final pass');
}

/** Split sorted axes into runs of consecutive axes. */
function runsOf(axes: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  return runs;
}

/** A view of `t` with another shape of the same size; the input is not consumed. */
export function viewAs(t: Tensor, shape: readonly number[]): Tensor {
  if (sizeOf(shape) !== t.size) throw new Error(`reshape: cannot view ${fmt(t.shape)} as ${fmt(shape)}`);
  return new Tensor([...shape], t.dtype, t);
}

/**
 * Reduce `x` over `axes` (all when undefined). Runs of adjacent axes are reduced innermost first; logsumexp of
 * logsumexps is the logsumexp over both runs.
 */
export function reduceK(op: ReduceOp, x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype}`);
  const ax = normAxes(op, axes, x.rank);
  let shape = [...x.shape];
  let cur = x;
  // Innermost runs first: reducing a run leaves the indices of the axes before it unchanged.
  for (const [s, e] of runsOf(ax).reverse()) {
    const outer = sizeOf(shape.slice(0, s));
    const r = sizeOf(shape.slice(s, e));
    const inner = sizeOf(shape.slice(e));
    const next = shape.map((d, i) => (i >= s && i < e ? 1 : d));
    if (r === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce an empty axis of ${fmt(x.shape)}`);
    const y = reduceRun(op, cur, outer, r, inner, next);
    if (cur !== x) cur.dispose();
    cur = y;
    shape = next;
  }
  const finalShape = reducedShape(x.shape, ax, keepdims);
  if (cur === x) {
    // Nothing was reduced: a copy, not a view (a view of a parameter would change when the optimizer updates it).
    const y = Tensor.empty(finalShape, x.dtype, `${op} over no axis`);
    engine().copy(x.buffer, y.buffer, x.byteLength);
    return y;
  }
  const out = viewAs(cur, finalShape);
  cur.dispose();
  return out;
}

/** Index of the largest (argmax) or smallest (argmin) element along `axis`, first on ties; i32. */
export function argReduceK(op: 'argmax' | 'argmin', x: Tensor, axis: number, keepdims = false): Tensor {
  if (x.dtype !== 'f32') throw new Error(`${op}: expects an f32 tensor, got ${x.dtype}`);
  const a = normAxis(op, axis, x.rank);
  const r = x.shape[a];
  if (r === 0) throw new Error(`${op}: axis ${axis} of ${fmt(x.shape)} is empty`);
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a + 1));
  const outShape = reducedShape(x.shape, [a], keepdims);
  const e = engine();
  let vals = x;
  let idx: Tensor | null = null;
  let len = r;
  for (let pass = 0; ; pass++) {
    const p = planPass('arg', outer, len, inner, pass, e);
    const shape = p.chunks === 1 ? outShape : [outer, p.chunks, inner];
    const y = Tensor.empty(shape, 'i32', op);
    const yv = Tensor.empty(shape, 'f32', `${op} values`);
    launch(e, ARG_SHADERS, p, outer, len, inner, { OP: op === 'argmax' ? 0 : 1, IDX_IN: idx !== null }, {
      x: vals.buffer,
      xi: (idx ?? vals).buffer,
      y: y.buffer,
      yv: yv.buffer,
    });
    if (vals !== x) vals.dispose();
    idx?.dispose();
    if (p.chunks === 1) {
      yv.dispose();
      return y;
    }
    vals = yv;
    idx = y;
    len = p.chunks;
  }
}

/** softmax (or log-softmax with `log`) of `x` along one axis: one fused kernel, or statistics passes then a normalize. */
export function softmaxK(x: Tensor, axis: number, log = false): Tensor {
  const what = log ? 'logSoftmax' : 'softmax';
  if (x.dtype !== 'f32') throw new Error(`${what}: expects an f32 tensor, got ${x.dtype}`);
  const a = normAxis(what, axis, x.rank);
  const r = x.shape[a];
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a + 1));
  if (x.size === 0) return Tensor.empty(x.shape, 'f32', what);
  const res = softmaxStats(x, outer, r, inner, log ? 1 : 0, []);
  if ('y' in res) return res.y;
  const y = Tensor.empty(x.shape, 'f32', what);
  engine().run('softmax_apply', {
    constants: { MODE: log ? 1 : 0 },
    buffers: { x: x.buffer, m: res.m.buffer, s: res.s.buffer, y: y.buffer },
    params: { n: x.size, r, inner },
    threads: x.size,
  });
  res.m.dispose();
  res.s.dispose();
  return y;
}

/** Sum a broadcast gradient back down to `shape` (the inverse of broadcasting). Returns a new tensor. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return viewAs(g, shape);
  const { axes } = broadcastAxes(shape, g.shape);
  const summed = reduceK('sum', g, axes, true);
  const out = viewAs(summed, shape);
  summed.dispose();
  return out;
}
