// Shared benchmark machinery, for every suite in the bench/index.ts registry (matmul, reduce, ...):
// - BenchSuite / BenchContext / BenchRecord: what a suite implements, receives and returns;
// - adapterLine: the header naming the adapter, flagging software adapters;
// - timeSideBySide: warm-up, then interleaved trials of many calls per sync point, median and min ms;
// - setupTfPeer: TF.js's WebGPU backend on the engine's own GPUDevice, with a sync point like the engine's;
// - randomData / pickSamples / checkSamples: inputs and the sampled correctness check of every result;
// - formatTable / writeResults: the text table, and the --json files (records JSON + GFLOP/s SVG).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, DeviceInfo } from '../src/node/index.ts';
import { barChartSvg } from './svg.ts';
import { loadTuning } from '../src/node/tuning.ts';
import { median } from '../src/core/tune/timing.ts';
import { getPreset } from '../src/probex/zoo/presets.ts';

export interface BenchArgs {
  suite?: string;
  /** --json: machine-readable stdout, and results written to `out` as JSON + SVG. */
  json: boolean;
  /** --all: also run what a software adapter skips by default (large shapes, slow variants). */
  all: boolean;
  /** --no-peer: skip the TF.js comparison. */
  peer: boolean;
  /** --trials N: timed submits per candidate (default chosen by the suite). */
  trials?: number;
  /** --variants a,b: only these variants. */
  variants?: string[];
  /** --shapes a,b: only shapes whose name contains one of these. */
  shapes?: string[];
  /** --out DIR: where --json writes (default bench/results). */
  out: string;
  /** --tuning FILE: tuning table to load (matmul) or write (tune). */
  tuning?: string;
  help: boolean;
}

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { json: false, all: false, peer: true, out: join('bench', 'results'), help: false };
  const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') args.json = true;
    else if (a === '--all') args.all = true;
    else if (a === '--no-peer') args.peer = false;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--trials') {
      const v = value();
      const n = Number(v);
      if (!(v.trim() !== '' && Number.isInteger(n) && n >= 1)) throw new Error(`--trials needs a whole number >= 1, got "${v}"`);
      args.trials = n;
    }
    else if (a === '--variants') args.variants = list(value());
    else if (a === '--shapes') args.shapes = list(value());
    else if (a === '--out') args.out = value();
    else if (a === '--tuning') args.tuning = value();
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (!args.suite) args.suite = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  return args;
}

/** One measurement: a variant (or the peer) on one shape. ms/gflops are null when the run was skipped. */
export interface BenchRecord {
  op: string;
  variant: string;
  /** For the engine's own choice (variant 'auto'): the variant it picked. */
  chosen?: string;
  shape: string;
  /** Median milliseconds per call over the trials. */
  ms: number | null;
  gflops: number | null;
  /** The peer's (TF.js) median ms on the same shape, measured in the same run; null without a peer. */
  peer_ms: number | null;
  /** peer_ms / ms: above 1 is faster than the peer. */
  ratio: number | null;
  adapter: string;
  software: boolean;
  flops: number;
  /** Fastest trial (ms per call): less sensitive to other load on the machine than the median. */
  min_ms: number | null;
  trials: number;
  reps: number;
  /** Sampled correctness check: 'ok', 'FAIL' or 'skipped'. */
  check: 'ok' | 'FAIL' | 'skipped';
  /** Worst sampled |error| relative to its bound (<= 1 passes). */
  max_err?: number;
  note?: string;
}

export interface TfPeer {
  tf: typeof import('@tensorflow/tfjs-core');
  /** TF.js version, and whether it runs on the engine's own GPUDevice. */
  version: string;
  sharedDevice: boolean;
  note: string;
  /** Submit TF.js's pending commands and wait for the device: the same sync point as engine.sync(). */
  sync(): Promise<void>;
}

export interface BenchContext {
  engine: Engine;
  info: DeviceInfo;
  args: BenchArgs;
  /** Progress lines: stdout in text mode, stderr with --json (stdout is then one JSON document). */
  log(line: string): void;
  /** The TF.js peer, set up on first use; null with --no-peer or when it cannot start (the reason is logged). */
  peer(): Promise<TfPeer | null>;
}

export interface BenchSuite {
  name: string;
  about: string;
  /** The names --variants may pick (suites without variants leave it out, and refuse --variants). */
  variants?: readonly string[];
  /** Run the suite's benchmarks; the driver prints and writes the records. */
  run(ctx: BenchContext): Promise<BenchRecord[]>;
}

/** The first line of every benchmark: which adapter, and a warning when it is a software (CPU) implementation. */
export function adapterLine(info: DeviceInfo): string {
  const what = `${info.description} (${info.vendor || '?'}, ${info.architecture || '?'})`;
  return info.isSoftware
    ? `adapter: ${what} -- SOFTWARE ADAPTER (runs on the CPU): these timings say nothing about GPU speed`
    : `adapter: ${what}`;
}

export const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

export interface Candidate {
  name: string;
  /** Records (does not wait for) one call. */
  run: () => void;
  /** Waits until every recorded call has finished on the device. */
  sync: () => Promise<void>;
}

export interface TimeOptions {
  /** Timed submits per candidate (each `reps` calls then one sync); default 3. */
  trials?: number;
  /** Aim for about this many ms per timed submit when choosing reps (default 200). */
  targetMs?: number;
  /** At most this many calls per submit (default 100). */
  maxReps?: number;
}

export interface Timing {
  ms: number;
  min: number;
  samples: number[];
  reps: number;
  /** The first call (pipeline compilation, uploads) in ms. */
  firstMs: number;
}

/**
 * Time candidates side by side. Each is first run once and synced (compiles pipelines, uploads inputs), then run
 * once more to estimate its cost and pick `reps` (calls recorded back to back before one sync point); then the
 * trials go round-robin over the candidates, so load from other processes hits them alike. ms is the median of the
 * trials' per-call times, min the fastest trial.
 */
export async function timeSideBySide(cands: Candidate[], opts: TimeOptions = {}): Promise<Map<string, Timing>> {
  const trials = opts.trials ?? 3;
  const target = opts.targetMs ?? 200;
  const maxReps = opts.maxReps ?? 100;
  const plan = new Map<string, { reps: number; firstMs: number; samples: number[] }>();
  for (const c of cands) {
    let t0 = performance.now();
    c.run();
    await c.sync();
    const firstMs = performance.now() - t0;
    t0 = performance.now();
    c.run();
    await c.sync();
    const est = performance.now() - t0;
    plan.set(c.name, { reps: Math.max(1, Math.min(maxReps, Math.round(target / Math.max(est, 1e-3)))), firstMs, samples: [] });
  }
  for (let t = 0; t < trials; t++) {
    for (const c of cands) {
      const p = plan.get(c.name)!;
      const t0 = performance.now();
      for (let r = 0; r < p.reps; r++) c.run();
      await c.sync();
      p.samples.push((performance.now() - t0) / p.reps);
    }
  }
  const out = new Map<string, Timing>();
  for (const [name, p] of plan) out.set(name, { ms: median(p.samples), min: Math.min(...p.samples), samples: p.samples, reps: p.reps, firstMs: p.firstMs });
  return out;
}

/** Deterministic uniform values in [-1, 1) (mulberry32), as f32. */
export function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** `count` distinct indices in [0, n), always including the first and last (deterministic). */
export function pickSamples(n: number, count: number, seed = 7): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const r = randomData(count, seed);
  const set = new Set<number>([0, n - 1]);
  for (let i = 0; set.size < count && i < count * 4; i++) set.add(Math.floor(((r[i % count] + 1) / 2) * n) % n);
  return [...set].sort((x, y) => x - y);
}

/** A sampled expected value and its error bound. */
export interface Expected {
  index: number;
  want: number;
  bound: number;
}

/** Compare sampled entries of a result with their expected values: ok when every |got - want| <= bound. */
export function checkSamples(got: ArrayLike<number>, expected: Expected[]): { ok: boolean; maxErr: number; worst?: string } {
  let maxErr = 0;
  let worst: string | undefined;
  for (const e of expected) {
    const err = Math.abs(got[e.index] - e.want) / e.bound;
    if (!(err <= maxErr)) {
      maxErr = Number.isNaN(err) ? Infinity : err;
      worst = `entry ${e.index}: ${got[e.index]} vs ${e.want} (bound ${e.bound.toExponential(2)})`;
    }
  }
  return { ok: maxErr <= 1, maxErr, worst };
}

/**
 * TF.js (tfjs-core + tfjs-backend-webgpu) on the engine's own GPUDevice: navigator.gpu is installed for its
 * feature check, then its 'webgpu' backend factory is replaced by one that wraps our device (the WebGPUBackend
 * constructor takes a device), so both run in one process on one device and one queue.
 */
export async function setupTfPeer(e: Engine): Promise<TfPeer> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: e.gpu }, configurable: true, writable: true });
  }
  const tf = await import('@tensorflow/tfjs-core');
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  tf.removeBackend('webgpu');
  let backend: InstanceType<typeof WebGPUBackend> | null = null;
  tf.registerBackend('webgpu', () => (backend = new WebGPUBackend(e.device, e.device.adapterInfo)));
  if (!(await tf.setBackend('webgpu')) || !backend) throw new Error('TF.js could not start its WebGPU backend on our device');
  const be: InstanceType<typeof WebGPUBackend> = backend;
  return {
    tf,
    version: tf.version_core,
    sharedDevice: true,
    note: `TF.js ${tf.version_core} WebGPU backend on the engine's GPUDevice (same process, same queue)`,
    async sync() {
      be.ensureCommandEncoderReady();
      be.endComputePassEncoder();
      be.submitQueue();
      await e.device.queue.onSubmittedWorkDone();
    },
  };
}

const fmtNum = (x: number | null, digits = 2): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(digits));

/** The human-readable table: one line per record, grouped by shape. */
export function formatTable(records: BenchRecord[]): string {
  const rows = [['shape', 'variant', 'ms', 'min ms', 'GFLOP/s', 'vs peer', 'check', 'note']];
  let last = '';
  for (const r of records) {
    rows.push([
      r.shape === last ? '' : r.shape,
      r.chosen ? `${r.variant} (${r.chosen})` : r.variant,
      fmtNum(r.ms),
      fmtNum(r.min_ms),
      fmtNum(r.gflops),
      r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
      r.check,
      r.note ?? '',
    ]);
    last = r.shape;
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c >= 2 && c <= 5 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/** Write records as JSON and a GFLOP/s-by-shape-and-variant SVG to `dir`; returns both paths. */
export function writeResults(dir: string, suite: string, info: DeviceInfo, records: BenchRecord[], extra: Record<string, unknown> = {}): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  // A second run on the same day and adapter gets its own name (-2, -3, ...): committed results are never overwritten.
  const stem = join(dir, `${new Date().toISOString().slice(0, 10)}-${slug(info.description || info.vendor)}-${suite}`);
  let base = stem;
  for (let k = 2; existsSync(`${base}.json`) || existsSync(`${base}.svg`); k++) base = `${stem}-${k}`;
  const doc = { suite, adapter: info.description, software: info.isSoftware, date: new Date().toISOString(), ...extra, records };
  writeFileSync(`${base}.json`, `${JSON.stringify(doc, null, 2)}\n`);
  const measured = records.filter((r) => r.gflops !== null);
  const groups = [...new Set(measured.map((r) => r.shape))];
  const variants = [...new Set(measured.map((r) => r.variant))];
  const series = variants.map((v) => ({
    name: v,
    values: groups.map((g) => measured.find((r) => r.shape === g && r.variant === v)?.gflops ?? null),
  }));
  const svg = barChartSvg({
    title: `${suite}: GFLOP/s by shape and variant`,
    subtitle: `${info.description}${info.isSoftware ? ' (software adapter: not a GPU figure)' : ''}, ${doc.date.slice(0, 10)}`,
    yLabel: 'GFLOP/s (median)',
    groups,
    series,
  });
  writeFileSync(`${base}.svg`, svg);
  return { json: `${base}.json`, svg: `${base}.svg` };
}

/** Where `npm run bench -- tune` writes its table, and where the suites look for one. */
export const DEFAULT_TUNING_FILE = 'bench/tuning.json';

/** Attach the --tuning table (else bench/tuning.json when present) to the engine; say which, or that there is none. */
export function attachTuning(ctx: BenchContext, uses: string): void {
  const file = ctx.args.tuning ?? (existsSync(DEFAULT_TUNING_FILE) ? DEFAULT_TUNING_FILE : undefined);
  if (file) {
    loadTuning(ctx.engine, file);
    ctx.log(`tuning: ${file} (auto uses its ${uses} for this adapter)`);
  } else {
    ctx.log('tuning: none (auto uses the default heuristic; `npm run bench -- tune` measures one)');
  }
}

/** Takes --preset NAME, --models N and the given bare flags out of argv (for suites that build a preset's models);
 * the rest goes back to the shared parser, with --no-peer (these suites have no TF.js counterpart). */
export function takePresetOptions(argv: string[], defaults: { preset: string; models: number }, flags: string[] = []): { preset: string; models: number; flags: Set<string>; rest: string[] } {
  const out = { ...defaults, flags: new Set<string>(), rest: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    if (flags.includes(argv[i])) out.flags.add(argv[i]);
    else if (argv[i] === '--preset') {
      out.preset = argv[++i] ?? '';
      getPreset(out.preset); // names the presets when this one is unknown
    } else if (argv[i] === '--models') {
      const v = Number(argv[++i]);
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`--models needs a positive whole number, got ${argv[i] ?? 'nothing'}`);
      out.models = v;
    } else out.rest.push(argv[i]);
  }
  out.rest.push('--no-peer');
  return out;
}
