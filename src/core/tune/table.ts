// The tuning table: which kernel variant the autotuner measured fastest, per (op, shape class, adapter). A plain
// JSON-able object attached to an engine with setTuning(); browser-safe (src/node/tuning.ts reads and writes files).
import type { DeviceInfo } from '../device.ts';
import type { Engine } from '../engine.ts';

export const TUNING_FORMAT = 'probex-tuning/1';

/** One measured choice. */
export interface TunedChoice {
  /** The winning variant's name (for matmul, a MatmulVariant). */
  variant: string;
  /** The shape that was timed to represent its class, e.g. { batch, m, n, k } for matmul. */
  shape: Record<string, number | boolean>;
  /** Median milliseconds per call of every candidate that was timed. */
  ms: Record<string, number>;
  /** ISO date of the measurement. */
  tunedAt: string;
}

export interface AdapterTuning {
  /** The adapter's description, for people reading the file. */
  description: string;
  /** Choices by shape-class key (see matmulClassKey). */
  entries: Record<string, TunedChoice>;
}

/** The file format: choices grouped by adapter key (see adapterKey). */
export interface TuningTable {
  format: typeof TUNING_FORMAT;
  adapters: Record<string, AdapterTuning>;
}

export function emptyTuning(): TuningTable {
  return { format: TUNING_FORMAT, adapters: {} };
}

/** Identifies an adapter (and its driver) across runs: vendor, architecture, device and description. */
export function adapterKey(info: DeviceInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].map((s) => s.trim() || '-').join(' | ');
}

/** Size class of a dimension: ceil(log2(x)), so 513..1024 share class 10 and 1 is class 0. */
export function sizeClass(x: number): number {
  return x <= 1 ? 0 : Math.ceil(Math.log2(x));
}

export interface MatmulClassShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

/**
 * The shape class of a matmul (after batch folding, see prims/matmul.ts): the transposes and the size class of each
 * of batch, M, N and K, e.g. "matmul NT b0 m9 n7 k14" for 2-D A [512, 16384] x B^T with B [128, 16384].
 */
export function matmulClassKey(s: MatmulClassShape): string {
  const t = `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}`;
  return `matmul ${t} b${sizeClass(s.batch)} m${sizeClass(s.m)} n${sizeClass(s.n)} k${sizeClass(s.k)}`;
}

const tables = new WeakMap<Engine, TuningTable>();

/** Attach a tuning table to an engine (null detaches it: the default heuristics apply again). */
export function setTuning(e: Engine, table: TuningTable | null): void {
  if (table) tables.set(e, validateTuning(table));
  else tables.delete(e);
}

export function getTuning(e: Engine): TuningTable | undefined {
  return tables.get(e);
}

/** The tuned choice for a shape-class key on this engine's adapter, if one was measured. */
export function lookupChoice(e: Engine, key: string): TunedChoice | undefined {
  return tables.get(e)?.adapters[adapterKey(e.info)]?.entries[key];
}

export function recordChoice(table: TuningTable, info: DeviceInfo, key: string, choice: TunedChoice): void {
  const id = adapterKey(info);
  const entry = (table.adapters[id] ??= { description: info.description, entries: {} });
  entry.entries[key] = choice;
}

/** Check that a parsed object is a tuning table (throws naming what is wrong); returns it typed. */
export function validateTuning(x: unknown): TuningTable {
  const fail = (what: string): never => {
    throw new Error(`tuning table: ${what}`);
  };
  if (!x || typeof x !== 'object') fail('not an object');
  const t = x as { format?: unknown; adapters?: unknown };
  if (t.format !== TUNING_FORMAT) fail(`format is ${JSON.stringify(t.format)}, expected "${TUNING_FORMAT}"`);
  if (!t.adapters || typeof t.adapters !== 'object') fail('no "adapters" object');
  for (const [id, ad] of Object.entries(t.adapters as Record<string, unknown>)) {
    const entries = (ad as { entries?: unknown } | null)?.entries;
    if (!entries || typeof entries !== 'object') fail(`adapter "${id}" has no "entries" object`);
    for (const [key, c] of Object.entries(entries as Record<string, unknown>)) {
      if (typeof (c as { variant?: unknown } | null)?.variant !== 'string') fail(`entry "${key}" of "${id}" has no variant`);
    }
  }
  return x as TuningTable;
}
