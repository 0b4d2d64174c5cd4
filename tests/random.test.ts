// Seeded random tensors against an independent Philox4x32-10 written here in TypeScript (checked on Random123's
// known-answer vectors): uniform values bit-for-bit, normal values as Box-Muller of the same words; determinism;
// sample moments of a million draws; sizes off the 4-element block.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';
import { expectClose } from './support/harness.ts';
import { TOL } from './support/tolerances.ts';

useEngine();

const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** The 64-bit product of two u32 as [hi, lo], in BigInt (independent of the shader's 16-bit halves). */
function mulhilo(m: bigint, a: number): [number, number] {
  const p = m * BigInt(a >>> 0);
  return [Number(p >> 32n), Number(p & 0xffffffffn)];
}

/** Philox4x32-10 (Salmon et al. 2011): 10 rounds, key bumped by the Weyl constants between rounds. */
function philox(counter: readonly number[], key: readonly number[]): number[] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let [k0, k1] = key.map((v) => v >>> 0);
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** The key of a seed: its low 32 bits and the bits above. */
const keyOf = (seed: number): [number, number] => [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];

/** Element k of a tensor of `n`: word k % 4 of counter block floor(k / 4) = (floor(k / 4), 0, 0, 0). */
function words(seed: number, n: number): Uint32Array {
  const key = keyOf(seed);
  const out = new Uint32Array(n);
  for (let i = 0; 4 * i < n; i++) {
    const w = philox([i, 0, 0, 0], key);
    for (let j = 0; j < 4 && 4 * i + j < n; j++) out[4 * i + j] = w[j];
  }
  return out;
}

/** 24 high bits to [0, 1): exact in f32. */
const unit = (w: number): number => (w >>> 8) * 2 ** -24;

const f = Math.fround;

async function read(t: E.Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

describe('the TypeScript Philox reference', () => {
  it("reproduces Random123's known-answer vectors", () => {
    const hex = (v: number[]): string[] => v.map((x) => x.toString(16).padStart(8, '0'));
    expect(hex(philox([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(hex(philox([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toEqual([
      '408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd',
    ]);
    expect(hex(philox([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toEqual([
      'd16cfe09', '94fdcceb', '5001e420', '24126ea1',
    ]);
  });
});

describe('uniform', () => {
  const SIZES = [1, 2, 3, 4, 5, 7, 33, 4097];
  const SEEDS = [0, 1, 12345, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER];

  it('seed 0 gives the known-answer words of counter 0 and key (0, 0)', async () => {
    const got = await read(E.uniform([4], 0));
    expect([...got]).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map(unit));
  });

  for (const seed of SEEDS) {
    it(`[0, 1) is bit-exact against the reference, seed ${seed}`, async () => {
      const n = 4097;
      const got = await read(E.uniform([n], seed));
      const want = Float32Array.from(words(seed, n), unit);
      expect(got).toEqual(want);
    });
  }

  it('[low, high) with a power-of-two span is bit-exact too (every step exact in f32)', async () => {
    const n = 1001;
    const got = await read(E.uniform([n], 99, -2, 2));
    expect(got).toEqual(Float32Array.from(words(99, n), (w) => unit(w) * 4 - 2));
  });

  it('any [low, high) is u * (high - low) + low rounded in f32, with or without a fused multiply-add', async () => {
    const n = 4097;
    const [low, high] = [-0.3, 1.7];
    const got = await read(E.uniform([n], 7, low, high));
    const span = f(f(high) - f(low));
    const w = words(7, n);
    for (let k = 0; k < n; k++) {
      const u = unit(w[k]);
      const separate = f(f(u * span) + f(low));
      const fused = f(u * span + f(low)); // u * span is exact in float64 (24 x 24 bits)
      if (got[k] !== separate && got[k] !== fused) expect.fail(`element ${k}: ${got[k]}, expected ${separate} (or ${fused} fused)`);
    }
  });

  for (const n of SIZES) {
    it(`size ${n}: element 4i + j is word j of block i, no element left unwritten`, async () => {
      // A dirty pool buffer first: the same byte size comes back, so unwritten elements would show up as 7.
      const dirty = E.full([n], 7);
      await dirty.data();
      dirty.dispose();
      const got = await read(E.uniform([n], 42));
      expect(got).toEqual(Float32Array.from(words(42, n), unit));
    });
  }

  it('depends only on (seed, size): same seed same tensor, any shape; a prefix of a longer draw', async () => {
    const a = await read(E.uniform([5, 7], 3));
    const b = await read(E.uniform([5, 7], 3));
    const c = await read(E.uniform([35], 3));
    const d = await read(E.uniform([7, 1, 5], 3));
    const long = await read(E.uniform([100], 3));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(d).toEqual(a);
    expect(long.subarray(0, 35)).toEqual(a);
  });

  it('different seeds differ, including seeds that differ only above bit 32', async () => {
    const seeds = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 2 ** 33];
    const draws = await Promise.all(seeds.map((s) => read(E.uniform([64], s))));
    for (let i = 0; i < seeds.length; i++) {
      for (let j = i + 1; j < seeds.length; j++) {
        const same = draws[i].filter((v, k) => v === draws[j][k]).length;
        expect(same, `seeds ${seeds[i]} and ${seeds[j]}`).toBeLessThan(2);
      }
    }
  });

  it('a million draws lie in [low, high) with the moments of a uniform', async () => {
    const n = 1_000_000;
    const [low, high] = [-3, 5];
    const u = await read(E.uniform([n], 2024, low, high));
    let min = Infinity;
    let max = -Infinity;
    let s = 0;
    let s2 = 0;
    for (const v of u) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      s += v;
      s2 += v * v;
    }
    expect(min).toBeGreaterThanOrEqual(low);
    expect(max).toBeLessThan(high);
    // The sample's range reaches within a few expected gaps ((high - low) / n) of both ends.
    expect(min - low).toBeLessThan((20 * (high - low)) / n);
    expect(high - max).toBeLessThan((20 * (high - low)) / n);
    // Mean (high + low) / 2, sd (high - low) / sqrt(12); 5 standard errors (false alarm ~6e-7 per check).
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    const sd = (high - low) / Math.sqrt(12);
    expect(Math.abs(mean - (high + low) / 2)).toBeLessThan((5 * sd) / Math.sqrt(n));
    // Var of a uniform's sample variance: (mu4 - sigma^4) / n with mu4 = 9/5 sigma^4.
    expect(Math.abs(variance - sd * sd)).toBeLessThan(5 * Math.sqrt(0.8 / n) * sd * sd);
  });

  it('rejects seeds that are not non-negative safe integers', () => {
    expect(() => E.uniform([3], -1)).toThrow(/random: seed must be a non-negative safe integer, got -1/);
    expect(() => E.uniform([3], 1.5)).toThrow(/random: seed/);
    expect(() => E.uniform([3], 2 ** 53)).toThrow(/random: seed/);
  });
});

describe('normal', () => {
  /** Box-Muller on the word pairs (0, 1) and (2, 3) of each block, in float64. */
  function boxMuller(seed: number, n: number, mean: number, std: number): Float64Array {
    const w = words(seed, n + 4);
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const b = k - (k % 4);
      const pair = k % 4 < 2 ? b : b + 2;
      const r = Math.sqrt(-2 * Math.log(1 - unit(w[pair])));
      const t = 2 * Math.PI * unit(w[pair + 1]);
      out[k] = (k % 2 === 0 ? r * Math.cos(t) : r * Math.sin(t)) * std + mean;
    }
    return out;
  }

  for (const [n, seed, mean, std] of [
    [4096, 5, 0, 1],
    [7, 6, 0, 1],
    [1001, 2 ** 40 + 3, 2, 0.5],
  ] as const) {
    it(`size ${n}, seed ${seed}, N(${mean}, ${std}^2): Box-Muller of the reference words`, async () => {
      const got = await read(E.normal([n], seed, mean, std));
      expectClose(got, boxMuller(seed, n, mean, std), TOL.boxMuller, 'normal vs Box-Muller');
    });
  }

  it('same seed same tensor; different seeds differ', async () => {
    const a = await read(E.normal([3, 11], 8));
    const b = await read(E.normal([33], 8));
    const c = await read(E.normal([33], 9));
    expect(b).toEqual(a);
    expect(c.filter((v, k) => v === a[k]).length).toBeLessThan(2);
  });

  it('a million draws have mean 0, sd 1 and the normal tail mass', async () => {
    const n = 1_000_000;
    const z = await read(E.normal([n], 77));
    let s = 0;
    let s2 = 0;
    let within1 = 0;
    let beyond3 = 0;
    for (const v of z) {
      expect(Number.isFinite(v)).toBe(true);
      s += v;
      s2 += v * v;
      if (Math.abs(v) < 1) within1++;
      if (Math.abs(v) > 3) beyond3++;
    }
    // All bounds are 5 standard errors of the statistic under N(0, 1) (false alarm ~6e-7 each).
    const mean = s / n;
    const sd = Math.sqrt(s2 / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n)); // se of the mean: 1 / sqrt(n)
    expect(Math.abs(sd - 1)).toBeLessThan(5 * Math.sqrt(1 / (2 * n))); // se of the sd: 1 / sqrt(2n)
    const p1 = 0.6826894921370859; // P(|Z| < 1)
    const p3 = 0.0026997960632601866; // P(|Z| > 3)
    expect(Math.abs(within1 / n - p1)).toBeLessThan(5 * Math.sqrt((p1 * (1 - p1)) / n));
    expect(Math.abs(beyond3 / n - p3)).toBeLessThan(5 * Math.sqrt((p3 * (1 - p3)) / n));
  });
});

describe('Rng', () => {
  it('hands out distinct seeds, reproducibly', async () => {
    const r1 = new E.Rng(5);
    const r2 = new E.Rng(5);
    const a = await read(r1.uniform([16]));
    const b = await read(r1.uniform([16]));
    expect(b).not.toEqual(a);
    expect(await read(r2.uniform([16]))).toEqual(a);
    const seeds = new Set(Array.from({ length: 1000 }, () => new E.Rng(5).next()));
    expect(seeds.size).toBe(1);
    const seq = new E.Rng(5);
    expect(new Set(Array.from({ length: 1000 }, () => seq.next())).size).toBe(1000);
  });
});
