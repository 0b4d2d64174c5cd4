// Training many zoo models in one batch: each model keeps its own learning rate and number of epochs (a model whose
// epochs are over is frozen while the rest go on) and ends where it ends when trained alone; the loop submits every
// step as it is recorded and reads the loss back once per epoch.
import { describe, it, expect } from 'vitest';
import { tensor } from '../src/core/index.ts';
import { seededRandom } from '../src/datasets/split.ts';
import { unstack } from '../src/probex/zoo/models/batched.ts';
import { classifierArch } from '../src/probex/zoo/models/registry.ts';
import { evaluateClassifiers, trainClassifiers } from '../src/probex/zoo/train.ts';
import { modelsPerBatch } from '../src/probex/zoo/build.ts';
import { useEngine } from './support/engine.ts';

const ctx = useEngine();

const ARCH = { kind: 'mlp' as const, hidden: [8] };
const CLASSES = 3;
const N = 24;

function setup(): { images: ReturnType<typeof tensor>; items: Int32Array; labels: Int32Array } {
  const r = seededRandom(11);
  const images = tensor(Float32Array.from({ length: N * 784 }, () => (r() < 0.8 ? 0 : r())), [N, 784]);
  const items = Int32Array.from({ length: N }, (_, i) => i);
  return { images, items, labels: Int32Array.from(items, (i) => i % CLASSES) };
}

describe('batched zoo training', () => {
  it('gives each model its own learning rate and epochs, as if trained alone (tolerance 1e-5)', async () => {
    const { images, items, labels } = setup();
    const seeds = [1, 2, 3];
    const lrs = [1e-3, 5e-3, 2e-2];
    const epochs = [2, 1, 3];
    const job = (ms: number[]) => ({ items: ms.map(() => items), labels: ms.map(() => labels), seeds: ms.map((m) => seeds[m]) });
    const batched = classifierArch(ARCH).create(ARCH, CLASSES, seeds);
    const initial = await unstack(batched);
    await trainClassifiers(batched, images, job([0, 1, 2]), { epochs, lr: lrs, batch: 8, weightDecay: 1e-4 });
    const together = await unstack(batched);
    batched.dispose();
    for (let m = 0; m < 3; m++) {
      const alone = classifierArch(ARCH).create(ARCH, CLASSES, [seeds[m]]);
      await trainClassifiers(alone, images, job([m]), { epochs: epochs[m], lr: lrs[m], batch: 8, weightDecay: 1e-4 });
      const [single] = await unstack(alone);
      alone.dispose();
      for (const [name, v] of single) {
        const got = together[m].get(name)!.data;
        const worst = v.data.reduce((w, x, i) => Math.max(w, Math.abs(x - got[i])), 0);
        expect(worst, `model ${m} ${name}`).toBeLessThan(1e-5);
        // Training moved it (a frozen or skipped model would also match an untrained twin).
        const moved = v.data.reduce((w, x, i) => Math.max(w, Math.abs(x - initial[m].get(name)!.data[i])), 0);
        expect(moved, `model ${m} ${name} moved`).toBeGreaterThan(1e-4);
      }
    }
    images.dispose();
  });

  it('submits each step and reads the loss once per epoch', async () => {
    const { images, items, labels } = setup();
    const model = classifierArch(ARCH).create(ARCH, CLASSES, [4, 5]);
    const c0 = { ...ctx.engine.counters };
    const losses: number[] = [];
    await trainClassifiers(model, images, { items: [items, items], labels: [labels, labels], seeds: [1, 2] }, { epochs: [3, 2], lr: [1e-2, 1e-2], batch: 4, readEvery: 2, onEpoch: (_, l) => losses.push(l) });
    const steps = 3 * (N / 4);
    expect(losses).toHaveLength(3);
    expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
    expect(ctx.engine.counters.reads - c0.reads).toBe(3);
    expect(ctx.engine.counters.submits - c0.submits).toBeGreaterThanOrEqual(steps);
    model.dispose();
    images.dispose();
  });

  it('evaluates in passes of any size to the same accuracies', async () => {
    const { images, items, labels } = setup();
    const model = classifierArch(ARCH).create(ARCH, CLASSES, [4, 5, 6]);
    await trainClassifiers(model, images, { items: [items, items, items], labels: [labels, labels, labels], seeds: [1, 2, 3] }, { epochs: 3, lr: 2e-2, batch: 8 });
    const job = { items: [items, items, items], labels: [labels, labels, labels] };
    const whole = await evaluateClassifiers(model, images, job);
    for (const chunk of [1, 5, 7, N]) expect(await evaluateClassifiers(model, images, job, chunk)).toEqual(whole);
    expect(whole.some((a) => a > 1 / CLASSES)).toBe(true);
    model.dispose();
    images.dispose();
  });

  it('cuts a batch so that a stacked parameter fits one storage binding', () => {
    const gpu = { maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 40 };
    // The wide MLP's 1024 x 1024 layer: 511 models fit 2 GiB, not 1,000; small layers keep the chunk asked for.
    expect(modelsPerBatch(1000, 1024 * 1024, gpu)).toBe(511);
    expect(modelsPerBatch(1000, 256 * 784, gpu)).toBe(1000);
    expect(modelsPerBatch(32, 1024 * 1024, { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 32 })).toBe(32);
    expect(modelsPerBatch(64, 1024 * 1024, { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 32 })).toBe(32);
    // The buffer limit counts too, and a layer larger than a binding still gets batches of one (which then fail
    // with the engine's own error).
    expect(modelsPerBatch(1000, 1024 * 1024, { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 28 })).toBe(64);
    expect(modelsPerBatch(8, 2 ** 30, gpu)).toBe(1);
  });

  it('rejects per-model settings of the wrong length', async () => {
    const { images, items, labels } = setup();
    const model = classifierArch(ARCH).create(ARCH, CLASSES, [4, 5]);
    const job = { items: [items, items], labels: [labels, labels], seeds: [1, 2] };
    await expect(trainClassifiers(model, images, job, { epochs: [1, 2, 3], lr: 1e-3, batch: 4 })).rejects.toThrow(/2 models but 3 values of epochs/);
    await expect(trainClassifiers(model, images, job, { epochs: 1, lr: [1e-3], batch: 4 })).rejects.toThrow(/2 models but 1 values of lr/);
    model.dispose();
    images.dispose();
  });
});
