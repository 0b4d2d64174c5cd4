// Recording the autograd graph: ops call record() to attach a backward rule to their output, unless gradients are
// off (noGrad) or no input needs one. The backward walk itself is in autograd.ts.
import type { Tensor, GraphNode } from './tensor.ts';

let disabled = 0;

/** Run `fn` without recording gradients. */
export function noGrad<T>(fn: () => T): T {
  disabled++;
  try {
    return fn();
  } finally {
    disabled--;
  }
}

export function record(out: Tensor, op: string, inputs: Tensor[], backward: GraphNode['backward']): Tensor {
  if (disabled === 0 && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
    out.madeBy = op;
  }
  return out;
}

/**
 * For composite ops: free the intermediates when the result carries no graph (nothing can need them for backward);
 * otherwise backward needs them and the enclosing tidy() frees them.
 */
export function settle(out: Tensor, ...intermediates: (Tensor | null)[]): Tensor {
  if (!out.node) for (const t of intermediates) if (t && t !== out) t.dispose();
  return out;
}
