// `probex eval`: every expert of a run scored on the test splits, the baselines and the shared ablation beside
// ProbeX, routing accuracy over the test models of all trees, and the results table (RUN/results.md and .json).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEngine } from './engine.ts';
import { writeFileAtomic } from '../node/files.ts';
import { evaluateRun } from '../probex/evaluate.ts';
import { aggregate, markdownTable, sweepTable } from '../probex/results.ts';
import { routeTestModels, routingMarkdown, type TestRouting } from '../probex/routing/test-routing.ts';
import { readRun, withRunLock } from '../probex/run.ts';
import { SOURCE_OPTIONS, runSource, resolveText, resolveTrees } from './source.ts';

export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...SOURCE_OPTIONS, run: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.run) throw new Error('eval needs --run RUN (a folder made by `probex train`)');
  const run = readRun(values.run);
  const src = runSource(values, run, values.run);
  const { trees } = resolveTrees(src);
  const text = resolveText(src);
  const engine = await startEngine();
  const log = values.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
  log(`adapter: ${engine.info.description}${engine.info.isSoftware ? ' [software adapter]' : ''}`);
  const runDir = values.run;
  // Under the run's lock: no training may change the run while it is scored, nor another eval write results beside.
  const { result, md } = await withRunLock(runDir, async () => {
    const rows = await evaluateRun({ run: runDir, trees, text, log });
    let routing: TestRouting | null = null;
    if (trees.length > 1) {
      routing = routeTestModels(trees);
      log(`routing: ${(100 * routing.routing.accuracy).toFixed(1)}% of ${routing.routing.total} test models; without bases ${(100 * routing.withoutBases.accuracy).toFixed(1)}%; clustering purity ${(100 * routing.clustering.purity).toFixed(1)}%`);
    }
    const table = aggregate(rows);
    const md = [markdownTable(table), routing ? routingMarkdown(routing) : '', sweepTable(run.seeds)].filter(Boolean).join('\n');
    const result = { run: runDir, adapter: engine.info, results: table, rows, routing: routing?.routing ?? null, routingWithoutBases: routing?.withoutBases ?? null, clustering: routing?.clustering ?? null };
    writeFileAtomic(join(runDir, 'results.json'), JSON.stringify(result, null, 1));
    writeFileAtomic(join(runDir, 'results.md'), md);
    return { result, md };
  });
  console.log(values.json ? JSON.stringify(result) : md);
  engine.destroy();
}
