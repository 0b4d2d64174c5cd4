// `npm run bench -- tune`: run the matmul and reduction autotuners (src/core/tune/) on the benchmarks' shapes that
// fit this adapter and save the choices to the tuning file (default bench/tuning.json), which the benchmarks, the
// probex CLI and any program calling loadTuning() then use. Classes already in the file are kept; delete it to re-tune.
import { autotuneMatmul } from '../src/core/tune/autotune.ts';
import { autotuneReduce } from '../src/core/tune/reduce.ts';
import { loadTuning, writeTuningFile } from '../src/node/tuning.ts';
import { planMatmul } from '../src/core/prims/matmul.ts';
import { DEFAULT_TUNING_FILE, type BenchRecord, type BenchSuite } from './common.ts';
import { matmulShapes, shapeLabel } from './matmul.ts';
import { reduceTuneShapes } from './reduce.ts';

const size = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);

export const suite: BenchSuite = {
  name: 'tune',
  about: `autotune matmul and reduction variants per shape class on this adapter, saved to ${DEFAULT_TUNING_FILE} (--tuning FILE)`,
  async run(ctx) {
    const { engine: e, info, args } = ctx;
    const file = args.tuning ?? DEFAULT_TUNING_FILE;
    const table = loadTuning(e, file);
    const maxBytes = e.device.limits.maxStorageBufferBindingSize;
    // On a software adapter only products up to 1024^3 (2.1 GFLOP), so that tuning takes minutes, not hours.
    const shapes = matmulShapes().filter((s) => {
      const p = planMatmul(s.a, s.b, s.transA, s.transB);
      const fits = 4 * Math.max(size(s.a), size(s.b), size(p.outShape)) <= maxBytes;
      const cheap = !info.isSoftware || args.all || 2 * size(p.outShape) * p.k <= 2.2e9;
      return fits && cheap && (!args.shapes || args.shapes.some((f) => `${shapeLabel(s)} ${s.what}`.includes(f)));
    });
    const results = await autotuneMatmul(e, shapes, { table, log: (l) => ctx.log(`  ${l}`), trials: args.trials ?? 3 });
    writeTuningFile(file, table);
    const reductions = reduceTuneShapes(maxBytes).filter((s) => !args.shapes || args.shapes.some((f) => s.label.includes(f)));
    const reduced = await autotuneReduce(e, reductions, { table, log: (l) => ctx.log(`  ${l}`), trials: args.trials ?? 3 });
    writeTuningFile(file, table);
    const all = [...results, ...reduced];
    ctx.log(`tuning: ${all.filter((r) => !r.cached).length} class(es) timed, ${all.filter((r) => r.cached).length} already known; wrote ${file}`);
    // One record per tuned class: the winner's time, or a note that the file already had it.
    const record = (op: string, shape: string, flops: number, r: { key: string; variant: string; ms: Record<string, number | undefined>; cached: boolean }): BenchRecord => {
      const ms = r.ms[r.variant] ?? null;
      return {
        op,
        variant: r.variant,
        shape,
        ms,
        gflops: ms === null ? null : flops / ms / 1e6,
        peer_ms: null,
        ratio: null,
        adapter: info.description,
        software: info.isSoftware,
        flops,
        min_ms: null,
        trials: r.cached ? 0 : args.trials ?? 3,
        reps: 0,
        check: 'skipped',
        note: r.cached ? `${r.key}: already tuned` : `${r.key}: ${Object.entries(r.ms).map(([v, t]) => `${v} ${t!.toFixed(2)}`).join(', ')} ms`,
      };
    };
    const matmulRecords = results.map((r, i) => record('matmul-tune', shapeLabel(shapes[i]), 2 * r.shape.batch * r.shape.m * r.shape.n * r.shape.k, r));
    const reduceRecords = reduced.map((r, i) => {
      const s = reductions[i];
      return record(`${s.family}-tune`, s.label, s.outer * s.r * s.inner, r);
    });
    return [...matmulRecords, ...reduceRecords];
  },
};
