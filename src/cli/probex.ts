// The `probex` command line: `zoo build`, `zoo summary`, `inspect`, `route`, and the expert commands `train`, `eval`,
// `predict`, `search`. Every command takes --json for machine-readable output; errors print one line naming the
// problem and exit non-zero.
import { parseArgs } from 'node:util';
import { joinNegativeValues, reportFailure } from './args.ts';
import { startEngine } from './engine.ts';
import { buildZoo, checkBuildOptions } from '../probex/zoo/build.ts';
import { summarizeZoo, formatSummary } from '../probex/zoo/summary.ts';
import { measureSignal } from '../probex/signal.ts';
import { readSafetensorsFile } from '../node/safetensors-file.ts';
import { bytesPerElement } from '../core/io/safetensors.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';
import { predictCommand, searchCommand } from './query.ts';
import { routeCommand } from './route.ts';
import { positiveNumber } from './source.ts';

const USAGE = `usage:
  probex zoo build [--preset tiny|medium|default] --out DIR [--trees a,b] [--max-models N] [--chunk N] [--json]
               (preset default: default; chunk: the preset's; a rerun resumes)
  probex zoo summary DIR [--signal] [--json]
  probex inspect FILE.safetensors [--json]
  probex route --zoo DIR [--trees a,b] [--json]
  probex train (--zoo DIR [--trees a,b] | --modelj DIR --subset NAME [--class-map FILE]) --out RUN
               [--layer TENSOR] [--sweep] [--seeds N] [--methods probex,dense,dense-z,statnn] [--no-shared]
               [--epochs N] [--lr X] [--weight-decay X] [--batch N] [--validate-every N]   (discriminative heads)
               [--text-epochs N] [--text-lr X] [--text-weight-decay X] [--text-batch N] [--text-validate-every N]
               [--probes N] [--proj N] [--rep N] [--stat-hidden N] [--learn-scale] [--text EMBEDDINGS.safetensors] [--json]
               (defaults, the paper's: classes epochs 500, lr 1e-3, weight decay 1e-5, batch 128, validate every 25;
               text epochs 200, lr 2e-3, weight decay 0, batch 128, validate every 10; probes = proj = rep = 128,
               stat-hidden 256; layer: the largest matrix after the input layer; seeds 1; every method, shared on)
  probex eval --run RUN [--zoo DIR | --modelj DIR --subset NAME] [--text FILE] [--json]
  probex predict FILE.safetensors [FILE ...] --run RUN [--zoo DIR] [--text FILE] [--top K (5)] [--json]
  probex search "<text>" --run RUN [--zoo DIR] [--top K (10)] [--json]
               (eval, predict, search: the run's own zoo and text embeddings unless --zoo / --text say otherwise)`;

async function zooBuild(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: 'string', default: 'tiny' },
      out: { type: 'string' },
      trees: { type: 'string' },
      'max-models': { type: 'string' },
      chunk: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const out = values.out ?? `zoo-${values.preset}`;
  const raw = values['max-models'];
  const maxModels = raw !== undefined ? Number(raw) : undefined;
  if (raw !== undefined && !(raw.trim() !== '' && Number.isInteger(maxModels) && maxModels! >= 0)) throw new Error(`--max-models must be a whole number >= 0, got "${raw}"`);
  const chunk = positiveNumber('chunk', values.chunk, true);
  const options = { preset: values.preset!, out, trees: values.trees?.split(','), maxModels, chunk };
  checkBuildOptions(options);
  const engine = await startEngine();
  const log = values.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
  log(`adapter: ${engine.info.description}${engine.info.isSoftware ? ' [software adapter]' : ''}`);
  const t0 = performance.now();
  const report = await buildZoo({ ...options, log });
  const seconds = (performance.now() - t0) / 1000;
  const trained = report.trees.reduce((n, t) => n + t.trained, 0);
  const result = { zoo: out, preset: values.preset, adapter: engine.info, seconds, trained, modelsPerSecond: trained / seconds, ...report };
  if (values.json) console.log(JSON.stringify(result));
  else {
    for (const t of report.trees) console.log(`${t.name}: trained ${t.trained}, already there ${t.skipped}, ${t.modelsPerSecond.toFixed(2)} models/s`);
    console.log(`${report.complete ? 'complete' : 'not complete yet (run again to resume)'}: ${trained} models in ${seconds.toFixed(1)} s (${(trained / seconds).toFixed(2)} models/s) on ${engine.info.description}`);
  }
  engine.destroy();
}

async function zooSummary(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, signal: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new Error('zoo summary takes one folder');
  summarizeZoo(positionals[0]); // fails early, with the reason, on a folder that is not a zoo
  if (values.signal) {
    const engine = await startEngine();
    await measureSignal(positionals[0], values.json ? () => {} : (s) => console.log(s));
    engine.destroy();
  }
  const summary = summarizeZoo(positionals[0]);
  console.log(values.json ? JSON.stringify(summary) : formatSummary(summary));
}

function inspect(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) throw new Error('inspect takes one file');
  const f = readSafetensorsFile(positionals[0]);
  const tensors = f.names().map((name) => {
    const e = f.info(name);
    return { name, dtype: e.dtype, shape: e.shape, bytes: e.end - e.begin, elements: (e.end - e.begin) / bytesPerElement(e.dtype) };
  });
  f.close();
  if (values.json) {
    console.log(JSON.stringify({ file: positionals[0], tensors, metadata: f.metadata }));
    return;
  }
  const width = Math.max(4, ...tensors.map((t) => t.name.length));
  console.log(`${positionals[0]}: ${tensors.length} tensors, ${tensors.reduce((n, t) => n + t.bytes, 0)} bytes`);
  for (const t of tensors) console.log(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(4)}  [${t.shape.join(', ')}]  ${t.bytes} B`);
  for (const [k, v] of Object.entries(f.metadata)) console.log(`  ${k}: ${v.length > 100 ? `${v.slice(0, 97)}...` : v}`);
}

/** The usage lines of one command (`zoo build`, `train`, ...), or all of them. */
function usageOf(command: string | undefined): string {
  const entries: string[][] = [];
  for (const line of USAGE.split('\n').slice(1)) {
    if (line.startsWith('  probex ')) entries.push([line]);
    else entries[entries.length - 1].push(line);
  }
  const mine = entries.filter((e) => command && e[0].startsWith(`  probex ${command} `));
  return `usage:\n${(mine.length ? mine : entries).flat().join('\n')}`;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usageOf(cmd === 'zoo' && sub && !sub.startsWith('-') ? `zoo ${sub}` : cmd));
    return;
  }
  if (cmd === 'zoo' && sub === 'build') return zooBuild(rest);
  if (cmd === 'zoo' && sub === 'summary') return zooSummary(rest);
  if (cmd === 'inspect') return inspect(argv.slice(1));
  if (cmd === 'route') return routeCommand(argv.slice(1));
  if (cmd === 'train') return trainCommand(argv.slice(1));
  if (cmd === 'eval') return evalCommand(argv.slice(1));
  if (cmd === 'predict') return predictCommand(argv.slice(1));
  if (cmd === 'search') return searchCommand(argv.slice(1));
  if (cmd === 'help') {
    console.log(USAGE);
    return;
  }
  if (!cmd) throw new Error(`name a command\n${USAGE}`);
  if (cmd === 'zoo') throw new Error(`zoo needs a subcommand: build or summary${sub ? ` (got "${sub}")` : ''}`);
  throw new Error(`unknown command "${cmd}" (commands: zoo build, zoo summary, inspect, route, train, eval, predict, search; probex --help shows their options)`);
}

main(joinNegativeValues(process.argv.slice(2))).catch((e: unknown) => {
  reportFailure(e, 'probex: ');
  process.exit(1);
});
