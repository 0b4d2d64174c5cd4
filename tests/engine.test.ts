// The engine's plumbing: device info and requested limits, kernel caching, the buffer pool and its counters,
// tidy scopes, command batching (nothing is submitted until data is read), and device loss surfacing as an error.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { acquireDevice } from '../src/core/device.ts';
import { BufferPool } from '../src/core/pool.ts';
import { useEngine } from './support/engine.ts';

const ctx = useEngine();

describe('device', () => {
  it('reports the adapter and flags a software one', () => {
    const { info, device } = ctx.engine;
    expect(info.description.length).toBeGreaterThan(0);
    // CI and development machines have no GPU: Dawn runs on Mesa's lavapipe.
    expect(info.isSoftware).toBe(/llvmpipe|lavapipe|swiftshader/i.test(`${info.description} ${info.architecture} ${info.device}`) || info.isSoftware);
    expect(info.features.length).toBeGreaterThan(0);
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    // The device gets the adapter's limits, not the defaults (lavapipe: 32 KiB workgroup storage vs 16 KiB default).
    expect(device.limits.maxComputeWorkgroupStorageSize).toBe(info.limits.maxComputeWorkgroupStorageSize);
    expect(device.limits.maxStorageBufferBindingSize).toBe(info.limits.maxStorageBufferBindingSize);
    for (const f of ['subgroups', 'shader-f16', 'timestamp-query']) {
      expect(device.features.has(f)).toBe(info.features.includes(f));
    }
  });

  it('says what to install when there is no adapter', async () => {
    await expect(acquireDevice(undefined)).rejects.toThrow(/bookworm-backports mesa-vulkan-drivers/);
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(acquireDevice(noAdapter)).rejects.toThrow(/No WebGPU adapter found/);
  });
});

describe('kernels', () => {
  it('compiles each (shader, constants) pair once', () => {
    const k = ctx.engine.kernels;
    const a = k.get('unary', { OP: 2 });
    expect(k.get('unary', { OP: 2 })).toBe(a);
    expect(k.get('unary', { OP: 3 })).not.toBe(a);
  });

  it('takes bind group layouts and parameter layouts from the WGSL', () => {
    const iface = ctx.engine.kernels.interface('binary');
    expect(iface.bindings.map((b) => `${b.name}:${b.kind}`)).toEqual(['a:read', 'b:read', 'y:read_write', 'params:uniform']);
    expect([...iface.uniform!.fields.keys()]).toEqual(['n', 'shape', 'a_strides', 'b_strides']);
    expect(() => ctx.engine.run('unary', { buffers: {}, params: { n: 1, alpha: 0, beta: 0, bogus: 1 }, threads: 1 })).toThrow(/unknown parameter "bogus"/);
    expect(() => ctx.engine.kernels.get('unary', { NOPE: 1 })).toThrow(/no override constant "NOPE"/);
  });
});

describe('memory', () => {
  it('reuses buffers by exact size and counts bytes', () => {
    const before = ctx.engine.memory;
    const a = E.zeros([1000]);
    const mid = ctx.engine.memory;
    expect(mid.bytesInUse - before.bytesInUse).toBe(4000);
    a.dispose();
    expect(ctx.engine.memory.bytesInUse).toBe(before.bytesInUse);
    const b = E.zeros([1000]);
    expect(ctx.engine.memory.buffersCreated).toBe(mid.buffersCreated);
    const c = E.zeros([1001]);
    expect(ctx.engine.memory.buffersCreated).toBe(mid.buffersCreated + 1);
    b.dispose();
    c.dispose();
  });

  it('refuses a tensor larger than one storage binding, naming the limit', () => {
    const max = ctx.engine.device.limits.maxStorageBufferBindingSize;
    expect(() => E.zeros([max / 4 + 1])).toThrow(/maxStorageBufferBindingSize/);
  });

  it('tidy frees what it created except what it returns or keeps', async () => {
    const start = ctx.engine.memory.bytesInUse;
    let kept!: E.Tensor;
    const out = E.tidy(() => {
      const a = E.ones([10]);
      const b = E.add(a, a);
      kept = E.keep(E.mul(b, 3));
      const inner = E.tidy(() => E.exp(E.neg(b)));
      return { c: E.sub(inner, 1) };
    });
    expect(ctx.engine.memory.bytesInUse - start).toBe(2 * 40);
    expect([...(await kept.data())]).toEqual(new Array(10).fill(6));
    expect(out.c.disposed).toBe(false);
    out.c.dispose();
    kept.dispose();
    expect(ctx.engine.memory.bytesInUse).toBe(start);
  });

  it('reshape views share the buffer until the last view is freed', async () => {
    const start = ctx.engine.memory.bytesInUse;
    const a = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = E.reshape(a, [3, 2]);
    a.dispose();
    expect([...(await v.data())]).toEqual([1, 2, 3, 4, 5, 6]);
    v.dispose();
    expect(ctx.engine.memory.bytesInUse).toBe(start);
    expect(() => v.buffer).toThrow(/was disposed/);
  });
});

describe('pool policy', () => {
  it('keeps free buffers up to the larger of its limit and the peak in use, evicting those freed longest ago', () => {
    const pool = new BufferPool(ctx.engine.device, 1 << 20, 1000);
    const a = pool.acquire(800, 'a');
    const b = pool.acquire(800, 'b');
    pool.release(a);
    pool.release(b); // 1,600 bytes free: over the limit, not over the peak in use (1,600): both kept
    expect(pool.counters).toMatchObject({ bytesAllocated: 1600, bytesInUse: 0, buffersFree: 2 });
    const c = pool.acquire(2000, 'c'); // peak now 2,000
    pool.release(c); // 3,600 free > 2,000: a, then b (freed before c) go; c stays for the next ask of its size
    expect(pool.counters).toMatchObject({ bytesAllocated: 2000, buffersFree: 1, buffersCreated: 3 });
    expect(pool.acquire(2000, 'again')).toBe(c);
    expect(pool.acquire(800, 'new').size).toBe(800);
    expect(pool.counters.buffersCreated).toBe(4);
    pool.afterSubmit(); // destroys a and b
    pool.trim();
  });

  it('hands out the oldest free buffer of a size, whatever order they were freed in', () => {
    const pool = new BufferPool(ctx.engine.device, 1 << 20);
    const [x, y, z] = [0, 1, 2].map(() => pool.acquire(64, 't'));
    for (const order of [[x, y, z], [z, x, y], [y, z, x]]) {
      for (const t of order) pool.release(t);
      expect([pool.acquire(64, 't'), pool.acquire(64, 't'), pool.acquire(64, 't')]).toEqual([x, y, z]);
    }
    for (const t of [x, y, z]) pool.release(t);
    pool.trim();
    expect(pool.counters).toMatchObject({ bytesAllocated: 0, buffersFree: 0, buffersCreated: 3 });
  });
});

describe('batching', () => {
  it('records ops without submitting until data is read', async () => {
    const e = ctx.engine;
    await e.sync();
    const s0 = e.counters.submits;
    const d0 = e.counters.dispatches;
    const y = E.tidy(() => {
      let t = E.full([64, 64], 0.5);
      for (let i = 0; i < 20; i++) t = E.tanh(E.matmul(t, t));
      return E.sum(t);
    });
    expect(e.counters.dispatches - d0).toBeGreaterThanOrEqual(41);
    expect(e.counters.submits).toBe(s0);
    await y.data();
    // One submit for the recorded work, one for the copy to the readback buffer.
    expect(e.counters.submits - s0).toBe(2);
    y.dispose();
  });
});

describe('bind groups, clears and copies', () => {
  it('reuses a bind group when a step repeats a dispatch on the same buffers at the same arena offset', async () => {
    const e = ctx.engine;
    const a = E.tensor([1, 2, 3, 4]);
    const y = E.zeros([4]);
    const z = E.zeros([4]);
    // OP 10 is v * alpha + beta.
    const affine = (out: E.Tensor, alpha: number): void => e.run('unary', { constants: { OP: 10 }, buffers: { x: a.buffer, y: out.buffer }, params: { n: 4, alpha, beta: 0 }, threads: 4 });
    const step = (alpha: number): void => {
      e.flush(); // a step starts at the arena's start
      affine(y, alpha);
      affine(z, 2 * alpha);
    };
    step(1);
    const g0 = e.counters.bindGroups;
    step(3); // same kernels, buffers and offsets, other parameters: the cached groups
    expect(e.counters.bindGroups).toBe(g0);
    expect([...(await y.data())]).toEqual([3, 6, 9, 12]);
    expect([...(await z.data())]).toEqual([6, 12, 18, 24]);
    e.flush();
    affine(z, 1); // z's group sits at the second offset: a new group here
    expect(e.counters.bindGroups).toBe(g0 + 1);
    expect([...(await z.data())]).toEqual([1, 2, 3, 4]);
    for (const t of [a, y, z]) t.dispose();
  });

  it('clears and copies byte ranges in order with the dispatches, in one submit', async () => {
    const e = ctx.engine;
    const src = E.tensor(Array.from({ length: 13 }, (_, i) => i + 1));
    const dst = E.full([13], -1);
    await e.sync();
    const s0 = e.counters.submits;
    e.copy(src.buffer, dst.buffer, 5 * 4, 2 * 4, 7 * 4); // dst[7..12) = src[2..7)
    e.clear(dst.buffer, 4, 3 * 4); // dst[1..4) = 0
    const sum = E.sum(dst); // a dispatch after them sees both
    expect(e.counters.submits).toBe(s0);
    expect([...(await dst.data())]).toEqual([-1, 0, 0, 0, -1, -1, -1, 3, 4, 5, 6, 7, -1]);
    expect(await sum.item()).toBe(-5 + 25);
    for (const t of [src, dst, sum]) t.dispose();
  });
});

describe('autograd', () => {
  it('accumulates gradients over backward calls until zeroGrad, in the same buffer', async () => {
    const w = E.parameter(E.tensor([1, 2, 3]));
    E.tidy(() => E.backward(E.sum(E.mul(w, w))));
    const buffer = w.grad!.buffer;
    E.tidy(() => E.backward(E.sum(E.mul(w, 3))));
    expect([...(await w.grad!.data())]).toEqual([5, 7, 9]);
    E.zeroGrad([w]);
    expect(w.grad!.buffer).toBe(buffer);
    expect([...(await w.grad!.data())]).toEqual([0, 0, 0]);
    w.dispose();
  });

  it('noGrad and detach record nothing', () => {
    const w = E.parameter(E.ones([2]));
    const a = E.noGrad(() => E.exp(w));
    expect(a.requiresGrad).toBe(false);
    expect(a.node).toBeNull();
    const d = E.detach(w);
    expect(d.requiresGrad).toBe(false);
    expect(() => E.backward(E.sum(d))).toThrow(/does not require grad/);
    w.dispose();
  });

  it('a value used twice gets both contributions', async () => {
    const x = E.parameter(E.tensor([2]));
    E.tidy(() => E.backward(E.add(E.mul(x, x), E.exp(x))));
    expect((await x.grad!.data())[0]).toBeCloseTo(4 + Math.exp(2), 4);
    x.dispose();
  });
});

describe('errors', () => {
  it('names the op and both shapes on a shape mismatch', () => {
    expect(() => E.matmul(E.zeros([2, 3]), E.zeros([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] x \[4, 5\]/);
  });

  it('backward through a freed tensor that a rule needs says so', () => {
    const w = E.parameter(E.ones([3]));
    const y = E.exp(w);
    const loss = E.sum(y);
    y.dispose();
    expect(() => E.backward(loss)).toThrow(/backward of exp: .*was disposed/);
    w.dispose();
  });
});
