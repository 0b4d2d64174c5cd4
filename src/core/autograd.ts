// Reverse-mode autodiff: walk the recorded graph from a scalar once, in reverse topological order, calling each
// node's backward rule. Leaf gradients accumulate in place into a persistent .grad buffer.
import { Tensor, keep, type GradInto } from './tensor.ts';
import { noGrad } from './graph.ts';
import { fillK, fillInto, axpyInto, binaryK, copyK } from './prims/elementwise.ts';
import { viewAs } from './prims/reduce.ts';
import { fmt } from './shape.ts';

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const i of t.node?.inputs ?? []) if (i.requiresGrad && !seen.has(i)) stack.push([i, false]);
  }
  return order;
}

export interface BackwardOptions {
  /** Upstream gradient; defaults to 1 for a one-element tensor. */
  grad?: Tensor;
  /** Keep the graph so backward can run again through it. */
  retainGraph?: boolean;
}

/** Accumulate d(root)/d(leaf) into leaf.grad for every leaf that requires grad. */
export function backward(root: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require grad (no parameter reaches it)');
  if (!opts.grad && root.size !== 1) throw new Error(`backward: needs a scalar or an explicit grad, got ${fmt(root.shape)}`);
  if (opts.grad && (opts.grad.dtype !== 'f32' || opts.grad.shape.length !== root.shape.length || opts.grad.shape.some((d, i) => d !== root.shape[i]))) {
    throw new Error(`backward: grad ${fmt(opts.grad.shape)} ${opts.grad.dtype} does not match the tensor ${fmt(root.shape)} f32`);
  }
  noGrad(() => {
    const order = topoOrder(root);
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, opts.grad ? viewAs(opts.grad, root.shape) : fillK(root.shape, 1));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.node) {
        if (t.madeBy) {
          // An op's result whose graph an earlier backward freed: going on would stop here and give its inputs nothing.
          throw new Error(`backward: the graph behind a result of ${t.madeBy} ${fmt(t.shape)} was freed by an earlier backward; pass { retainGraph: true } to that one to go through it again`);
        }
        if (t.grad) {
          axpyInto(t.grad, g);
          g.dispose();
        } else if (g.soleView) {
          // A buffer no other tensor views becomes .grad as it is: no copy (after zeroGrad({ setToNone: true }) this
          // replaces a fill and an accumulating pass over every parameter per step).
          t.grad = keep(g);
        } else {
          // The first gradient gets its own buffer: it is updated in place later and must not alias another.
          t.grad = keep(copyK(g));
          g.dispose();
        }
        continue;
      }
      const { inputs, backward: rule, op } = t.node;
      let produced: (Tensor | GradInto | null)[];
      try {
        produced = rule(g);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(`backward of ${op}: ${msg} (tensors a backward rule needs must outlive it: call backward() inside the tidy() that built the graph)`);
      }
      if (produced.length !== inputs.length) throw new Error(`backward of ${op}: ${produced.length} grads for ${inputs.length} inputs`);
      produced.forEach((gi, k) => {
        const input = inputs[k];
        if (!gi || !input.requiresGrad) return;
        if (gi.shape.length !== input.shape.length || gi.shape.some((d, j) => d !== input.shape[j])) {
          throw new Error(`backward of ${op}: gradient ${fmt(gi.shape)} does not match input ${fmt(input.shape)}`);
        }
        const prev = grads.get(input);
        if (!(gi instanceof Tensor) && prev?.soleView) {
          grads.set(input, gi.into(prev));
          return;
        }
        // A view per use, so one tensor returned for two inputs is never freed twice.
        const own = gi instanceof Tensor ? viewAs(gi, gi.shape) : gi.into(null);
        if (prev) {
          grads.set(input, binaryK('add', prev, own));
          prev.dispose();
          own.dispose();
        } else {
          grads.set(input, own);
        }
      });
      for (const gi of produced) if (gi instanceof Tensor) gi.dispose();
      g.dispose();
      if (!opts.retainGraph) t.node = null;
    }
  });
}

/** Set every gradient to zero in place (no reallocation), or with setToNone drop it (as PyTorch's
 * zero_grad(set_to_none=True)): the next backward then hands its gradient over instead of adding it to zeros, and a
 * parameter that gets none stays without one (optimizers skip it). */
export function zeroGrad(params: Iterable<Tensor>, setToNone = false): void {
  for (const p of params) {
    if (!p.grad) continue;
    if (setToNone) {
      p.grad.dispose();
      p.grad = null;
    } else {
      fillInto(p.grad, 0);
    }
  }
}
