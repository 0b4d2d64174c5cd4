// Kernel launch for batched matmul with optional transposed operands and broadcast batch dims.
import { engine } from '../engine.ts';
import { Tensor } from '../tensor.ts';
import { broadcastShapes, fmt, sizeOf } from '../shape.ts';

const TILE = 64;
const MAX_BATCH_RANK = 4;

export interface MatmulDims {
  m: number;
  n: number;
  k: number;
  batchShape: number[];
}

export function matmulDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean): MatmulDims {
  const what = `matmul${transA ? ' (A transposed)' : ''}${transB ? ' (B transposed)' : ''}`;
  if (a.length < 2 || b.length < 2) throw new Error(`${what}: operands must have rank >= 2, got ${fmt(a)} and ${fmt(b)}`);
  const [ar, ac] = a.slice(-2);
  const [br, bc] = b.slice(-2);
  const [m, ka] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (ka !== kb) throw new Error(`${what}: inner dimensions differ: ${fmt(a)} x ${fmt(b)} (${ka} vs ${kb})`);
  // Both errors name the full operand shapes, not just their batch parts.
  const batchShape = broadcastShapes(`${what}: batch dims of ${fmt(a)} x ${fmt(b)}`, a.slice(0, -2), b.slice(0, -2));
  if (batchShape.length > MAX_BATCH_RANK) {
    throw new Error(`${what}: at most ${MAX_BATCH_RANK} batch dims, got ${fmt(batchShape)} from ${fmt(a)} x ${fmt(b)}`);
  }
  return { m, n, k: ka, batchShape };
}

/** Element strides of each batch dim of an operand (0 where it is broadcast), padded to the output's batch rank. */
function batchStrides(shape: readonly number[], batchShape: number[]): number[] {
  const own = shape.slice(0, -2);
  const matrix = shape[shape.length - 1] * shape[shape.length - 2];
  const out = new Array<number>(batchShape.length).fill(0);
  let acc = matrix;
  for (let i = own.length - 1; i >= 0; i--) {
    const j = batchShape.length - own.length + i;
    out[j] = own[i] === 1 ? 0 : acc;
    acc *= own[i];
  }
  return out;
}

export function matmulK(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error(`matmul: expects f32 tensors, got ${a.dtype} and ${b.dtype}`);
  const { m, n, k, batchShape } = matmulDims(a.shape, b.shape, transA, transB);
  const batch = sizeOf(batchShape);
  const e = engine();
  if (batch > e.device.limits.maxComputeWorkgroupsPerDimension) throw new Error(`matmul: batch of ${batch} is too large`);
  const c = Tensor.empty([...batchShape, m, n], 'f32', 'matmul');
  if (k === 0) {
    e.clear(c.buffer, 0, c.byteLength);
    return c;
  }
  e.run('matmul', {
    constants: { TRANS_A: transA, TRANS_B: transB },
    buffers: { a: a.buffer, b: b.buffer, c: c.buffer },
    params: {
      m, n, k,
      batch_rank: batchShape.length,
      batch_shape: batchShape,
      a_batch_strides: batchStrides(a.shape, batchShape),
      b_batch_strides: batchStrides(b.shape, batchShape),
    },
    workgroups: [Math.ceil(n / TILE), Math.ceil(m / TILE), batch],
  });
  return c;
}
