// Seeded random tensors. The same (seed, shape) always gives the same tensor, on any device.
import type { Tensor } from '../tensor.ts';
import type { Shape } from '../shape.ts';
import { randomK } from '../prims/random.ts';

export function uniform(shape: Shape, seed: number, low = 0, high = 1): Tensor {
  return randomK('uniform', shape, seed, low, high);
}

export function normal(shape: Shape, seed: number, mean = 0, std = 1): Tensor {
  return randomK('normal', shape, seed, mean, std);
}

/** Hands out a fresh seed per call from one base seed, for code that draws many tensors. */
export class Rng {
  private counter = 0;
  constructor(readonly seed: number) {}
  next(): number {
    // Distinct 53-bit seeds per (seed, call) that do not collide for nearby base seeds.
    return (this.seed * 1_000_003 + ++this.counter) % Number.MAX_SAFE_INTEGER;
  }
  uniform(shape: Shape, low = 0, high = 1): Tensor {
    return uniform(shape, this.next(), low, high);
  }
  normal(shape: Shape, mean = 0, std = 1): Tensor {
    return normal(shape, this.next(), mean, std);
  }
}
