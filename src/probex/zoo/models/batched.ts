// Many models of one architecture trained at once: every parameter is stacked along a leading model axis [M, ...],
// so one batched matmul advances all M models. Names are those of a single model's state dict.
import { Tensor, concat, expand, keep, parameter, reshape, tensor, tidy, uniform } from '../../../core/index.ts';

export interface BatchedModel {
  /** Number of stacked models. */
  readonly count: number;
  /** Stacked parameters [M, ...single shape], by single-model state-dict name. */
  readonly params: Map<string, Tensor>;
  /** Training-mode forward of a [M, B, ...] batch. */
  forward(x: Tensor): Tensor;
  /** Free every parameter. */
  dispose(): void;
}

/** A single model's parameters, as read from or written to one safetensors file. */
export type StateDict = Map<string, { shape: number[]; data: Float32Array }>;

/** The parameters of every stacked model, split per model (reads the GPU once per tensor). */
export async function unstack(model: BatchedModel): Promise<StateDict[]> {
  const out: StateDict[] = Array.from({ length: model.count }, () => new Map());
  for (const [name, t] of model.params) {
    const data = (await t.data()) as Float32Array;
    const shape = t.shape.slice(1);
    const per = data.length / model.count;
    for (let m = 0; m < model.count; m++) out[m].set(name, { shape: [...shape], data: data.slice(m * per, (m + 1) * per) });
  }
  return out;
}

/** A trainable [M, ...shape] copy of one model's tensor, the same in every slot. */
export function stackedFrom(value: { shape: number[]; data: Float32Array }, count: number): Tensor {
  const one = tensor(value.data, [1, ...value.shape]);
  const out = keep(parameter(expand(one, [count, ...value.shape])));
  one.dispose();
  return out;
}

/** A trainable [M, ...shape] tensor, slot m drawn uniformly in +-bound from seeds[m] alone (so a model's initial
 * weights do not depend on which others share its batch). */
export function stackedUniform(shape: number[], seeds: readonly number[], bound: number): Tensor {
  // The draws are temporaries: only the stacked result outlives this scope.
  return tidy(() => {
    const parts = seeds.map((s) => reshape(uniform(shape, s, -bound, bound), [1, ...shape]));
    return keep(parameter(parts.length === 1 ? expand(parts[0], [1, ...shape]) : concat(parts, 0)));
  });
}
