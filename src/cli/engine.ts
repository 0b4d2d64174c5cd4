// The engine every probex command runs on: Dawn, with the shipped tuning file (bench/tuning.json, written by
// `npm run bench -- tune`) so that matmuls and reductions use the variants measured fastest on this adapter.
// PROBEX_TUNING=FILE picks another file; PROBEX_TUNING= (empty) runs on the built-in heuristics alone.
import { fileURLToPath } from 'node:url';
import { initNode, type Engine } from '../node/index.ts';

export const SHIPPED_TUNING = fileURLToPath(new URL('../../bench/tuning.json', import.meta.url));

export function startEngine(): Promise<Engine> {
  const tuning = process.env.PROBEX_TUNING ?? SHIPPED_TUNING;
  return initNode({ tuning: tuning || undefined });
}
