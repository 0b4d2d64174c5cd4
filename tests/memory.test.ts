// Memory and readbacks over a long run: 500 training steps of the QuickDraw MLP keep the engine's bytes in use flat,
// and a step reads nothing back from the GPU except the loss, once, when the loss is requested.
import { describe, it, expect } from 'vitest';
import { useEngine } from './support/engine.ts';
import { trainQuickdrawMlp } from '../examples/mlp-quickdraw.ts';

const ctx = useEngine();

describe('MLP training memory', () => {
  it('500 steps: bytes in use stay flat and only requested losses are read back', async () => {
    const engine = ctx.engine;
    const STEPS = 500;
    const BATCH = 16;
    const READ_EVERY = 7;
    const stepsPerEpoch = (10 * 80) / BATCH;
    const inUse: number[] = [];
    const allocated: number[] = [];
    const created: number[] = [];
    const readDelta: number[] = [];
    const requested: boolean[] = [];
    let reads = engine.counters.reads;
    const result = await trainQuickdrawMlp({
      epochs: STEPS / stepsPerEpoch,
      batch: BATCH,
      seed: 3,
      readEvery: READ_EVERY,
      onStep: (_step, lossRead) => {
        const m = engine.memory;
        inUse.push(m.bytesInUse);
        allocated.push(m.bytesAllocated);
        created.push(m.buffersCreated);
        readDelta.push(engine.counters.reads - reads);
        reads = engine.counters.reads;
        requested.push(lossRead);
      },
    });
    expect(result.steps).toBe(STEPS);
    expect(inUse).toHaveLength(STEPS);

    // Parameters, gradients, Adam state, the uploaded data and the epoch's shuffle: nothing else survives a step.
    const settled = inUse[9];
    const grown = inUse.slice(10).findIndex((b) => b !== settled);
    expect(grown === -1 ? 'flat' : `step ${grown + 11}: ${inUse[grown + 10]} bytes in use, ${settled} at step 10`).toBe('flat');
    // The pool reuses buffers by size, so after the first steps nothing new is allocated either.
    expect(allocated.slice(10).every((b) => b === allocated[9])).toBe(true);
    expect(created.slice(10).every((n) => n === created[9])).toBe(true);

    // Reads: exactly one on each step that requested its loss (every READ_EVERY steps and at each epoch end), none
    // otherwise.
    const wanted = requested.map((_, i) => (i + 1) % READ_EVERY === 0 || (i + 1) % stepsPerEpoch === 0);
    expect(requested).toEqual(wanted);
    expect(readDelta).toEqual(wanted.map((r) => (r ? 1 : 0)));
    expect(requested.filter(Boolean).length).toBe(result.losses.length);
    expect(requested.some((r) => !r)).toBe(true);
    expect(result.losses.every((l) => Number.isFinite(l.loss))).toBe(true);
    expect(engine.memory.bytesInUse).toBe(0);
  });
});
