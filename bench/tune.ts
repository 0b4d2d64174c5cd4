// `npm run bench -- tune`: run the matmul autotuner (src/core/tune/autotune.ts) on the benchmark's shapes that fit
// this adapter and save the choices to the tuning file (default bench/tuning.json), which `npm run bench -- matmul`
// and any program calling loadTuning() then use. Classes already in the file are kept; delete the file to re-tune.
import { autotuneMatmul } from '../src/core/tune/autotune.ts';
import { loadTuning, writeTuningFile } from '../src/node/tuning.ts';
import { planMatmul } from '../src/core/prims/matmul.ts';
import { DEFAULT_TUNING_FILE, type BenchRecord, type BenchSuite } from './common.ts';
import { matmulShapes, shapeLabel } from './matmul.ts';

const size = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);

export const suite: BenchSuite = {
  name: 'tune',
  about: `autotune matmul variants per shape class on this adapter, saved to ${DEFAULT_TUNING_FILE} (--tuning FILE)`,
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
    ctx.log(`tuning: ${results.filter((r) => !r.cached).length} class(es) timed, ${results.filter((r) => r.cached).length} already known; wrote ${file}`);
    return results.map((r, i): BenchRecord => {
      const flops = 2 * r.shape.batch * r.shape.m * r.shape.n * r.shape.k;
      const ms = r.ms[r.variant] ?? null;
      return {
        op: 'matmul-tune',
        variant: r.variant,
        shape: shapeLabel(shapes[i]),
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
    });
  },
};
