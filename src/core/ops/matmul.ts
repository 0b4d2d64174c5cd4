// Differentiable batched matmul. Backward uses the transposed-operand kernels instead of materializing transposes,
// and sums gradients over batch dims that were broadcast.
import { Tensor } from '../tensor.ts';
import { record } from '../graph.ts';
import { matmulK } from '../prims/matmul.ts';
import { sumToShape } from '../prims/reduce.ts';

export interface MatmulOptions {
  /** Use A^T: A is stored [..., k, m]. */
  transA?: boolean;
  /** Use B^T: B is stored [..., n, k]. */
  transB?: boolean;
}

/** [..., m, k] x [..., k, n] -> [..., m, n], batch dims broadcast (up to 4). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const ta = opts.transA ?? false;
  const tb = opts.transB ?? false;
  const c = matmulK(a, b, ta, tb);
  return record(c, 'matmul', [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      const full = ta ? matmulK(b, g, tb, true) : matmulK(g, b, false, !tb);
      ga = sumToShape(full, a.shape);
      full.dispose();
    }
    if (b.requiresGrad) {
      const full = tb ? matmulK(g, a, true, ta) : matmulK(a, g, !ta, false);
      gb = sumToShape(full, b.shape);
      full.dispose();
    }
    return [ga, gb];
  });
}
