// Edge cases of the engine core a review found wrong, each checked against a hand computation: backward through a
// graph an earlier backward freed, tied parameters, Adam's per-parameter bias correction, an explicit seed gradient
// of the wrong shape, a reduction over no axis of a parameter, a buffer bound writable twice, and tidy() on a throw.
import { describe, expect, it } from 'vitest';
import { Adam, Linear, Module, SGD, backward, gatherRowsInto, mul, parameter, sum, tensor, tidy, type Tensor } from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';

const ctx = useEngine();
const values = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

describe('autograd', () => {
  it('refuses to go back through a graph an earlier backward freed, and goes through it with retainGraph', async () => {
    const p = parameter(tensor([1, 2, 3], [3]), 'p');
    const h = mul(p, tensor([2, 2, 2], [3]));
    backward(sum(h));
    expect(() => backward(sum(mul(h, h)))).toThrow(/the graph behind a result of mul \[3\] was freed by an earlier backward; pass \{ retainGraph: true \}/);
    p.grad!.dispose();
    p.grad = null;
    const q = mul(p, tensor([2, 2, 2], [3]));
    backward(sum(q), { retainGraph: true });
    backward(sum(mul(q, q)));
    expect(await values(p.grad!)).toEqual([2 + 8, 2 + 16, 2 + 24]); // d/dp (2p) + d/dp (4p^2)
    const l = sum(p);
    backward(l);
    expect(() => backward(l)).toThrow(/a result of sum \[\] was freed/);
    p.dispose();
  });

  it('checks an explicit seed gradient against the tensor', () => {
    const x = parameter(tensor([1, 2, 3, 4, 5, 6], [2, 3]), 'x');
    const y = mul(x, x);
    expect(() => backward(y, { grad: tensor([1, 0, 0, 0, 0, 0], [3, 2]) })).toThrow(/grad \[3, 2\] f32 does not match the tensor \[2, 3\] f32/);
    expect(() => backward(y, { grad: tensor([1, 0, 0, 0, 0, 0], [2, 3], 'i32') })).toThrow(/grad \[2, 3\] i32 does not match/);
    x.dispose();
  });

  it('frees what a tidy() made when its function throws', () => {
    const before = ctx.engine.memory.bytesInUse;
    for (let i = 0; i < 3; i++) {
      expect(() =>
        tidy(() => {
          mul(tensor(new Float32Array(1000), [1000]), tensor(new Float32Array(1000), [1000]));
          throw new Error('boom');
        }),
      ).toThrow('boom');
    }
    expect(ctx.engine.memory.bytesInUse).toBe(before);
  });

  it('reduces over no axis into a copy: a loss read after the update is the value before it', async () => {
    const s = parameter(tensor([3], []), 's');
    const opt = new SGD([s], { lr: 1 });
    const l = tidy(() => {
      const l = sum(s, []);
      backward(l);
      opt.update();
      return l;
    });
    expect(await l.item()).toBe(3);
    expect(await s.item()).toBe(2);
    l.dispose();
    opt.dispose();
    s.dispose();
  });
});

describe('parameters and optimizers', () => {
  class Tied extends Module {
    readonly enc = new Linear(2, 2, { seed: 1 });
    readonly dec = this.enc;
  }

  it('lists a tied parameter once, and an optimizer refuses one listed twice', async () => {
    const m = new Tied();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['enc.weight', 'enc.bias']);
    expect(m.parameterCount()).toBe(6);
    const w = m.enc.weight;
    expect(() => new SGD([w, w], { lr: 0.1 })).toThrow(/is listed twice/);
    const before = await values(w);
    const opt = new SGD(m.parameters(), { lr: 0.1 });
    tidy(() => {
      backward(sum(mul(w, tensor([1, 1, 1, 1], [2, 2]))));
      opt.update();
    });
    const after = await values(w);
    after.forEach((v, i) => expect(v).toBeCloseTo(before[i] - 0.1, 6)); // one step of lr x gradient 1, not two
    opt.dispose();
    m.dispose();
  });

  it('bias-corrects Adam per parameter: a parameter whose first gradient comes late still moves by about lr', async () => {
    const a = parameter(tensor([1], [1]), 'a');
    const b = parameter(tensor([1], [1]), 'b');
    const opt = new Adam([a, b], { lr: 0.1 });
    for (let step = 0; step < 10; step++) {
      tidy(() => {
        opt.zeroGrad({ setToNone: true });
        backward(sum(step === 9 ? mul(a, b) : mul(a, tensor([1], [1]))));
        opt.update();
      });
    }
    // b's first update: m = 0.1 g, v = 0.001 g^2, corrected by its own step 1 -> a step of lr (as torch.optim.Adam).
    expect(await b.item()).toBeCloseTo(0.9, 5);
    opt.dispose();
    a.dispose();
    b.dispose();
  });
});

describe('engine', () => {
  it('refuses a buffer bound writable and bound again, naming the kernel, and keeps working', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const idx = tensor([2, 1, 0], [3], 'i32');
    expect(() => gatherRowsInto(x, idx, x, 0, 3, 0)).toThrow(/kernel "gather": one buffer is bound both as "\w+" \(written\) and as "\w+"/);
    const out = tensor(new Float32Array(6), [3, 2]);
    gatherRowsInto(x, idx, out, 0, 3, 0);
    expect(await values(out)).toEqual([5, 6, 3, 4, 1, 2]);
    for (const t of [x, idx, out]) t.dispose();
  });
});
