// Optimizers: each parameter update is one fused WGSL kernel; state buffers are allocated once per parameter.
import { engine } from '../engine.ts';
import { Tensor, keep } from '../tensor.ts';
import { fillK } from '../prims/elementwise.ts';
import { tensor } from '../ops/creation.ts';
import { zeroGrad } from '../autograd.ts';

export abstract class Optimizer {
  protected state = new Map<Tensor, Tensor[]>();
  step = 0;

  constructor(readonly params: Tensor[]) {
    const seen = new Set<Tensor>();
    for (const p of params) {
      if (!p.requiresGrad || p.dtype !== 'f32' || p.madeBy) throw new Error(`optimizer: ${p.name ?? p.toString()} is not an f32 parameter`);
      // Listed twice, it would be updated twice a step.
      if (seen.has(p)) throw new Error(`optimizer: ${p.name ?? p.toString()} is listed twice`);
      seen.add(p);
    }
  }

  /** Zero every gradient in place, or with setToNone drop them (see autograd's zeroGrad): the training loops' form,
   * which saves a fill and an accumulating pass per parameter and step. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    zeroGrad(this.params, opts.setToNone ?? false);
  }

  protected slots(p: Tensor, count: number): Tensor[] {
    let s = this.state.get(p);
    if (!s) {
      s = Array.from({ length: count }, () => keep(fillK(p.shape, 0)));
      this.state.set(p, s);
    }
    return s;
  }

  /** Apply one update to every parameter that has a gradient. */
  update(): void {
    this.step++;
    for (const p of this.params) if (p.grad) this.apply(p, p.grad);
  }

  protected abstract apply(p: Tensor, g: Tensor): void;

  dispose(): void {
    for (const s of this.state.values()) for (const t of s) t.dispose();
    this.state.clear();
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  constructor(params: Tensor[], readonly opts: SGDOptions) {
    super(params);
  }
  protected apply(p: Tensor, g: Tensor): void {
    const [velocity] = this.slots(p, 1);
    engine().run('sgd', {
      buffers: { param: p.buffer, grad: g.buffer, velocity: velocity.buffer },
      params: { n: p.size, lr: this.opts.lr, momentum: this.opts.momentum ?? 0, weight_decay: this.opts.weightDecay ?? 0 },
      threads: p.size,
    });
  }
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Every parameter is stacked along a leading axis of this many groups (models trained together), each with its
   * own learning rate: lr times its factor from setGroupScale (1 until set). */
  groups?: number;
}

/** Adam with L2 weight decay added to the gradient (as torch.optim.Adam). */
export class Adam extends Optimizer {
  protected decoupled = false;
  private readonly groups: number;
  private scale: Tensor;
  /** Updates each parameter has had: its bias correction counts its own steps (as torch.optim.Adam's state['step']),
   * so a parameter whose first gradient comes late still takes a full first step. */
  private readonly steps = new Map<Tensor, number>();

  constructor(params: Tensor[], readonly opts: AdamOptions) {
    super(params);
    const groups = opts.groups ?? 1;
    if (!(Number.isInteger(groups) && groups >= 1)) throw new Error(`Adam: groups must be a positive whole number, got ${groups}`);
    if (opts.groups !== undefined) {
      for (const p of params) {
        if (p.shape[0] !== groups) throw new Error(`Adam: ${groups} groups, but ${p.name ?? p.toString()} has leading axis ${p.shape[0] ?? 'none'} (shape [${p.shape.join(', ')}])`);
      }
    }
    this.groups = groups;
    this.scale = keep(fillK([groups], 1));
  }

  /** Learning-rate factors per group (lr x factor); 0 freezes a group (weights and moments stay as they are), e.g. a
   * model whose training is over. */
  setGroupScale(factors: readonly number[]): void {
    if (factors.length !== this.groups) throw new Error(`Adam: setGroupScale needs ${this.groups} factors, got ${factors.length}`);
    if (!factors.every((f) => Number.isFinite(f) && f >= 0)) throw new Error(`Adam: learning-rate factors must be finite and >= 0, got [${factors.join(', ')}]`);
    this.scale.dispose();
    this.scale = keep(tensor(Float32Array.from(factors), [this.groups]));
  }

  protected apply(p: Tensor, g: Tensor): void {
    const [m1, m2] = this.slots(p, 2);
    const t = (this.steps.get(p) ?? 0) + 1;
    this.steps.set(p, t);
    const beta1 = this.opts.beta1 ?? 0.9;
    const beta2 = this.opts.beta2 ?? 0.999;
    const e = engine();
    // Four elements per thread when every group is a whole number of quads (same values; on lavapipe its share of a
    // zoo MLP step fell from about 20% to 10%).
    const vec = (p.size / this.groups) % 4 === 0;
    const block = p.size / this.groups / (vec ? 4 : 1);
    const [x, y] = e.gridFor(block, 256);
    if (this.groups > e.device.limits.maxComputeWorkgroupsPerDimension) {
      throw new Error(`Adam: ${this.groups} groups exceed the device's ${e.device.limits.maxComputeWorkgroupsPerDimension} workgroups per dimension`);
    }
    e.run(vec ? 'adam_vec4' : 'adam', {
      constants: { DECOUPLED: this.decoupled },
      buffers: { param: p.buffer, grad: g.buffer, m1: m1.buffer, m2: m2.buffer, lr_scale: this.scale.buffer },
      workgroups: [x, y, this.groups],
      params: {
        block,
        lr: this.opts.lr,
        beta1,
        beta2,
        eps: this.opts.eps ?? 1e-8,
        weight_decay: this.opts.weightDecay ?? (this.decoupled ? 0.01 : 0),
        correction1: 1 - beta1 ** t,
        correction2: 1 - beta2 ** t,
      },
    });
  }

  override dispose(): void {
    super.dispose();
    this.scale.dispose();
  }
}

/** AdamW: weight decay applied to the weights directly (as torch.optim.AdamW, default decay 0.01). */
export class AdamW extends Adam {
  protected override decoupled = true;
}
