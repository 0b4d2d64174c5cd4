// Differentiable batched matmul, optionally with a bias added to every row (a Linear layer in one kernel). Backward
// uses the transposed-operand kernels instead of materializing transposes, and sums gradients over batch dims that
// were broadcast.
import { Tensor } from '../tensor.ts';
import { record } from '../graph.ts';
import { matmulBiasK, matmulK } from '../prims/matmul.ts';
import { sumToShape, viewAs } from '../prims/reduce.ts';

export interface MatmulOptions {
  /** Use A^T: A is stored [..., k, m]. */
  transA?: boolean;
  /** Use B^T: B is stored [..., n, k]. */
  transB?: boolean;
  /** Added to every row of the product: [n], or [..., n] with batch dims that broadcast against the output's. Fused
   * into the matmul kernel when it is one vector or one per output batch entry. */
  bias?: Tensor;
}

/** [..., m, k] x [..., k, n] (+ bias) -> [..., m, n], batch dims broadcast (up to 4). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const ta = opts.transA ?? false;
  const tb = opts.transB ?? false;
  const bias = opts.bias;
  const c = matmulBiasK(a, b, bias ?? null, ta, tb);
  return record(c, 'matmul', bias ? [a, b, bias] : [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      const full = ta ? matmulK(b, g, tb, true) : matmulK(g, b, false, !tb);
      ga = sumToShape(full, a.shape);
      full.dispose();
    }
    if (b.requiresGrad && b.rank === 2 && a.rank > 2 && !ta && a.size > 0 && g.size > 0) {
      // A batch against one shared weight: fold the batch into the rows, so dB is one [k, rows] x [rows, n] product
      // instead of a batched product summed afterwards.
      const k = a.shape[a.rank - 1];
      const a2 = viewAs(a, [a.size / k, k]);
      const g2 = viewAs(g, [g.size / g.shape[g.rank - 1], g.shape[g.rank - 1]]);
      gb = tb ? matmulK(g2, a2, true, false) : matmulK(a2, g2, true, false);
      a2.dispose();
      g2.dispose();
    } else if (b.requiresGrad) {
      const full = tb ? matmulK(g, a, true, ta) : matmulK(a, g, !ta, false);
      gb = sumToShape(full, b.shape);
      full.dispose();
    }
    if (!bias) return [ga, gb];
    let gbias: Tensor | null = null;
    if (bias.requiresGrad) {
      // Summed over the rows and every batch dim the bias was broadcast along.
      const rows = sumToShape(g, [...bias.shape.slice(0, -1), 1, bias.shape[bias.rank - 1]]);
      gbias = viewAs(rows, bias.shape);
      rows.dispose();
    }
    return [ga, gb, gbias];
  });
}
