// Module: a container of named parameters and submodules, found by walking its fields, so a model lists its
// parameters without registration calls.
import { Tensor } from '../tensor.ts';

export abstract class Module {
  /** Every parameter (leaf tensor with requiresGrad) under this module, with dotted names; a parameter reached twice
   * (tied weights) is listed once, under its first name, so an optimizer updates it once a step. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const add = (name: string, t: Tensor): void => {
      if (seen.has(t)) return;
      seen.add(t);
      out.push([name, t]);
    };
    const visit = (value: unknown, name: string): void => {
      if (value instanceof Tensor) {
        if (value.requiresGrad && !value.madeBy) add(name, value);
      } else if (value instanceof Module) {
        for (const [n, t] of value.namedParameters(`${name}.`)) add(n, t);
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => visit(v, `${name}.${i}`));
      }
    };
    for (const [key, value] of Object.entries(this)) visit(value, `${prefix}${key}`);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Free every parameter and gradient. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}
