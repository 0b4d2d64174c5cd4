// RunningSum: a training loop's loss total kept on the GPU, read once.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';

const ctx = useEngine();

describe('RunningSum', () => {
  it('adds detached values without touching its terms, hands over the total and starts over', async () => {
    const before = ctx.engine.memory.bytesInUse;
    const s = new E.RunningSum();
    expect(s.take()).toBeNull();
    const w = E.parameter(E.tensor([2]));
    for (const v of [1.5, -4, 10]) {
      const t = E.tidy(() => E.mul(w, v));
      s.add(t);
      t.dispose(); // the sum holds its own copy, even of the first term
    }
    expect(s.terms).toBe(3);
    const total = s.take()!;
    expect(total.requiresGrad).toBe(false);
    expect(await total.item()).toBe(15);
    expect(s.terms).toBe(0);
    expect(s.take()).toBeNull();
    total.dispose();
    const seven = E.tensor([7]);
    s.add(seven);
    s.dispose(); // frees the running total, not the term
    expect(s.take()).toBeNull();
    expect(await seven.item()).toBe(7);
    seven.dispose();
    w.dispose();
    expect(ctx.engine.memory.bytesInUse).toBe(before);
  });
});
