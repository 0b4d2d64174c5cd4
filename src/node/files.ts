// Writing files so that a crash never leaves a half-written one under the final name: write a temporary file in the
// same folder, then rename it over the target (atomic on POSIX file systems). And a lock file, so that two processes
// never write the same folder at once.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

const TEMP = /^\..+\.\d+\.tmp$/;

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    // Flushed before the rename, so that a power cut cannot leave the final name on a file whose bytes never landed.
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The JSON in `path`, which must be an object carrying `format` (our manifests) or, with format null, an array;
 * anything else fails naming the file and what it holds instead. */
export function readJsonFile<T>(path: string, format: string | null): T {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  if (format === null) {
    if (!Array.isArray(v)) throw new Error(`${path}: expected a JSON list, found ${v === null ? 'null' : typeof v}`);
  } else {
    const found = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { format?: unknown }).format : undefined;
    if (found !== format) throw new Error(`${path}: not a ${format} file (format ${JSON.stringify(found ?? null)})`);
  }
  return v as T;
}

/** Removes the temporary files writeFileAtomic leaves when a process is killed mid-write, anywhere under `dir`. Call it
 * only while holding the folder's lock (no other writer can be mid-write). Returns how many it removed. */
export function removeStaleTemps(dir: string): number {
  let removed = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) removed += removeStaleTemps(p);
    else if (e.isFile() && TEMP.test(e.name)) {
      rmSync(p, { force: true });
      removed++;
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `work` holding the lock `path` (see acquireLock), released however `work` ends. */
export async function withLock<T>(path: string, what: string, work: () => Promise<T>): Promise<T> {
  const release = acquireLock(path, what);
  try {
    return await work();
  } finally {
    release();
  }
}

/** Take `path` as a lock holding this process's id; returns its release. A lock left by a process that no longer
 * runs is taken over; one held by a running process is an error naming what `what` is. */
export function acquireLock(path: string, what: string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new Error(`${what} is in use by process ${holder} (lock ${path}); wait for it to finish or stop it`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not take the lock ${path} for ${what}`);
}
