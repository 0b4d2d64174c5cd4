// Node-side persistence of the autotuner's choices: read a tuning JSON file (src/core/tune/table.ts format) and attach
// it to an engine, or write a table back. The file can be shipped with a project or deleted to re-tune.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.ts';
import { emptyTuning, setTuning, validateTuning, type TuningTable } from '../core/tune/table.ts';
import type { Engine } from '../core/engine.ts';

/** The table in `path`, or an empty one when the file does not exist (a malformed file throws). */
export function readTuningFile(path: string): TuningTable {
  if (!existsSync(path)) return emptyTuning();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    return validateTuning(parsed);
  } catch (e) {
    throw new Error(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function writeTuningFile(path: string, table: TuningTable): void {
  writeFileAtomic(path, `${JSON.stringify(validateTuning(table), null, 2)}\n`);
}

/** Read `path` and attach it to the engine; returns the table (empty when the file does not exist). */
export function loadTuning(e: Engine, path: string): TuningTable {
  const table = readTuningFile(path);
  setTuning(e, table);
  return table;
}
