// Starts one engine per test file (each file runs in its own process) and destroys it at the end.
import { afterAll, beforeAll } from 'vitest';
import { initNode, type Engine } from '../../src/node/index.ts';

export function useEngine(): { readonly engine: Engine } {
  const holder = {} as { engine: Engine };
  beforeAll(async () => {
    holder.engine = await initNode();
  });
  afterAll(() => holder.engine?.destroy());
  return holder;
}
