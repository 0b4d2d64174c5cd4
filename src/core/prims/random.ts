// Kernel launch for seeded random tensors (Philox4x32-10): the same seed and shape give the same values anywhere.
import { engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import type { Shape } from '../shape.ts';

export type Distribution = 'uniform' | 'normal';

/** Split a seed (any safe integer) into the two 32-bit key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`random: seed must be a non-negative safe integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

/** uniform: values in [a, b); normal: mean a, standard deviation b. */
export function randomK(dist: Distribution, shape: Shape, seed: number, a: number, b: number): Tensor {
  const y = Tensor.empty(shape, 'f32', dist);
  const [key0, key1] = seedKey(seed);
  engine().run('random', {
    constants: { DIST: dist === 'uniform' ? 0 : 1 },
    buffers: { y: y.buffer },
    params: { n: y.size, key0, key1, low: a, high: b },
    threads: Math.ceil(y.size / 4),
  });
  return y;
}
