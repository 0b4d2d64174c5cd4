// Timing helpers shared by the autotuners: wall time per call over a batch of recorded calls, and medians.
import type { Engine } from '../engine.ts';
import { emptyTuning, getTuning, setTuning, type TuningTable } from './table.ts';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Milliseconds per call of `call`, recorded `reps` times between two GPU sync points. */
export async function timeCalls(e: Engine, call: () => void, reps: number): Promise<number> {
  await e.sync();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) call();
  await e.sync();
  return (performance.now() - t0) / reps;
}

/** The table the autotuner writes into: the given one, the engine's, or a new one attached to the engine. */
export function tuningTableFor(e: Engine, given?: TuningTable): TuningTable {
  let table = given ?? getTuning(e);
  if (!table) {
    table = emptyTuning();
    setTuning(e, table);
  }
  return table;
}
