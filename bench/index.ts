// Benchmark driver: `npm run bench -- <suite> [--json] [--all] [--no-peer] [--trials N] [--variants a,b]
// [--shapes a,b] [--out DIR] [--tuning FILE]`. Suites come from the registry below (add one by adding a module that
// exports `suite: BenchSuite`, see bench/common.ts). The first line names the adapter; --json prints one JSON document
// on stdout and writes the records (JSON) and a GFLOP/s plot (SVG) to bench/results/.
import { initNode } from '../src/node/index.ts';
import { adapterLine, formatTable, parseArgs, setupTfPeer, writeResults, type BenchContext, type BenchSuite, type TfPeer } from './common.ts';

/** A suite module; one with options of its own (scale: --models/--epochs/--size) takes them out of argv first. */
const SUITES: Record<string, () => Promise<{ suite: BenchSuite; takeOptions?: (argv: string[]) => string[] }>> = {
  matmul: () => import('./matmul.ts'),
  reduce: () => import('./reduce.ts'),
  tune: () => import('./tune.ts'),
  scale: () => import('./scale.ts'),
  'zoo-step': () => import('./zoo-step.ts'),
  host: () => import('./host.ts'),
};

const USAGE = `usage: npm run bench -- <${Object.keys(SUITES).join('|')}> [--json] [--all] [--no-peer] [--trials N] [--variants a,b] [--shapes a,b] [--out DIR] [--tuning FILE]`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const named = argv.find((a) => Object.hasOwn(SUITES, a));
  const takeOptions = named ? (await SUITES[named]()).takeOptions : undefined;
  const args = parseArgs(takeOptions ? takeOptions(argv) : argv);
  const say = (line: string): void => {
    if (args.json) process.stderr.write(`${line}\n`);
    else console.log(line);
  };
  if (args.help || !args.suite) {
    const suites = await Promise.all(Object.entries(SUITES).map(async ([name, load]) => ({ name, about: (await load()).suite.about })));
    if (args.json) console.log(JSON.stringify({ usage: USAGE, suites }));
    else console.log([USAGE, ...suites.map((s) => `  ${s.name.padEnd(8)} ${s.about}`)].join('\n'));
    return args.suite || args.help ? 0 : 1;
  }
  const load = SUITES[args.suite];
  if (!load) throw new Error(`unknown suite "${args.suite}"\n${USAGE}`);
  const { suite } = await load();
  if (args.variants) {
    const bad = args.variants.filter((v) => !suite.variants?.includes(v));
    if (bad.length) {
      throw new Error(suite.variants ? `--variants: ${args.suite} has no variant ${bad.join(', ')} (it has ${suite.variants.join(', ')}; the engine's own choice, auto, always runs)` : `--variants: the ${args.suite} suite has no variants to pick`);
    }
  }
  const engine = await initNode();
  try {
    const { info } = engine;
    say(adapterLine(info));
    let peer: Promise<TfPeer | null> | null = null;
    const ctx: BenchContext = {
      engine,
      info,
      args,
      log: say,
      peer: () =>
        (peer ??= args.peer
          ? setupTfPeer(engine).catch((e: unknown) => {
              say(`peer: TF.js could not start (${e instanceof Error ? e.message : String(e)}); running without it`);
              return null;
            })
          : Promise.resolve(null)),
    };
    const records = await suite.run(ctx);
    if (records.length === 0 && (args.shapes || args.variants)) {
      throw new Error(`nothing to measure: no ${args.suite} shape matched --shapes ${args.shapes?.join(',') ?? '(all)'} with --variants ${args.variants?.join(',') ?? '(all)'} (--help lists the suites; each suite's table names its shapes and variants)`);
    }
    const peerNote = (await ctx.peer())?.note ?? null;
    const files = args.json && records.length ? writeResults(args.out, suite.name, info, records, { peer: peerNote }) : null;
    if (args.json) {
      console.log(JSON.stringify({ suite: suite.name, adapter: info.description, software: info.isSoftware, peer: peerNote, files, records }));
    } else if (records.length) {
      console.log(`\n${adapterLine(info)}`);
      if (peerNote) console.log(`peer: ${peerNote}`);
      console.log(formatTable(records));
    }
    return records.some((r) => r.check === 'FAIL') ? 2 : 0;
  } finally {
    engine.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    if (process.argv.includes('--json')) console.log(JSON.stringify({ error: message }));
    else console.error(message);
    process.exit(1);
  },
);
