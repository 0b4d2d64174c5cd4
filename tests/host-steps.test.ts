// Steady-state training steps make no new buffers and no new bind groups (bench/host.ts's measurement, on small
// models): the pool hands a repeated step the same buffers, and the engine reuses their bind groups. Either failing
// costs host time on every step of every zoo build and expert (createBuffer and createBindGroup are the dearest calls).
import { describe, it, expect } from 'vitest';
import { expertSteps, zooStep } from '../bench/host.ts';
import { getPreset, type ClassifierTreeSpec } from '../src/probex/zoo/presets.ts';
import { useEngine } from './support/engine.ts';

useEngine();

describe('host cost of training steps', () => {
  for (const name of ['mlp-quickdraw', 'vit-quickdraw']) {
    it(`a zoo step of the tiny ${name} architecture reuses its buffers and bind groups`, async () => {
      const tree = getPreset('tiny').trees.find((t) => t.name === name) as ClassifierTreeSpec;
      const m = await zooStep(tree, 3, 1);
      expect(m.per.dispatches).toBeGreaterThan(10);
      expect(m.per.buffers).toBe(0);
      expect(m.per.bindGroups).toBe(0);
      expect(m.ms[0]).toBeGreaterThan(0);
    });
  }

  it('an expert step on a layer in four shards is one micro-batch that reuses its buffers and bind groups', async () => {
    // 300 models of 8 x 8 in shards of 96 models; batches of 128 draw on several shards every step. A sharded step does
    // the unsharded step's work plus one gather per extra shard (not a forward and backward pass per shard).
    const wholes = await expertSteps(['probex', 'dense'], 300, 8, 1);
    const shardeds = await expertSteps(['probex', 'dense'], 300, 8, 1, 96 * 4 * 64);
    for (const method of ['probex', 'dense'] as const) {
      const whole = wholes.get(method)!;
      const sharded = shardeds.get(method)!;
      expect(sharded.per.buffers, method).toBe(0);
      expect(sharded.per.bindGroups, method).toBe(0);
      expect(whole.per.dispatches, method).toBeGreaterThan(10);
      expect(sharded.per.dispatches - whole.per.dispatches, method).toBeLessThanOrEqual(3);
    }
  }, 120_000);
});
