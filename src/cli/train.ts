// `probex train`: experts (ProbeX and the baselines, both heads where the tree has them) for every tree of a zoo or a
// Model-J subset, optionally with a layer sweep and several model-split seeds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEngine } from './engine.ts';
import { METHODS, type Method } from '../probex/expert.ts';
import { readRun, trainRun, type RunConfig, type RunManifest } from '../probex/run.ts';
import type { TrainConfig } from '../probex/train.ts';
import { SOURCE_OPTIONS, positiveNumber, resolveText, resolveTrees } from './source.ts';

export async function trainCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...SOURCE_OPTIONS,
      out: { type: 'string' },
      methods: { type: 'string' },
      sweep: { type: 'boolean', default: false },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      'text-epochs': { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      batch: { type: 'string' },
      'validate-every': { type: 'string' },
      'text-lr': { type: 'string' },
      'text-weight-decay': { type: 'string' },
      'text-batch': { type: 'string' },
      'text-validate-every': { type: 'string' },
      'stat-hidden': { type: 'string' },
      probes: { type: 'string' },
      proj: { type: 'string' },
      rep: { type: 'string' },
      'learn-scale': { type: 'boolean', default: false },
      'no-shared': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.out) throw new Error('train needs --out RUN (the folder for checkpoints and run.json)');
  const methods = (values.methods?.split(',') ?? [...METHODS]) as Method[];
  for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method "${m}" (choose ${METHODS.join(', ')})`);
  // The plain optimisation flags set the discriminative heads, the --text-* ones the text-aligned heads (their
  // defaults differ, as in the paper); the architecture flags set every expert.
  const head = (prefix: '' | 'text-'): Partial<TrainConfig> => {
    const c: Partial<TrainConfig> = {};
    const set = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined): void => {
      if (v !== undefined) c[k] = v;
    };
    set('epochs', positiveNumber(`${prefix}epochs`, values[`${prefix}epochs`], true));
    set('lr', positiveNumber(`${prefix}lr`, values[`${prefix}lr`], false));
    set('batch', positiveNumber(`${prefix}batch`, values[`${prefix}batch`], true));
    set('validateEvery', positiveNumber(`${prefix}validate-every`, values[`${prefix}validate-every`], true));
    const wd = values[`${prefix}weight-decay`];
    if (wd !== undefined) {
      const n = Number(wd);
      if (!(wd.trim() !== '' && Number.isFinite(n) && n >= 0)) throw new Error(`--${prefix}weight-decay must be a number >= 0, got "${wd}"`);
      c.weightDecay = n;
    }
    return c;
  };
  const config: RunConfig = head('');
  const architecture: Partial<TrainConfig> = {
    probes: positiveNumber('probes', values.probes, true),
    proj: positiveNumber('proj', values.proj, true),
    rep: positiveNumber('rep', values.rep, true),
    statHidden: positiveNumber('stat-hidden', values['stat-hidden'], true),
    learnScale: values['learn-scale'] || undefined,
  };
  for (const [k, v] of Object.entries(architecture)) if (v !== undefined) Object.assign(config, { [k]: v });
  const text = head('text-');
  if (Object.keys(text).length) config.text = text;
  const { trees, source, layer } = resolveTrees(values);
  const textEmbeddings = resolveText(values);
  const engine = await startEngine();
  const log = values.json ? (s: string) => process.stderr.write(`${s}\n`) : (s: string) => console.log(s);
  log(`adapter: ${engine.info.description}${engine.info.isSoftware ? ' [software adapter]' : ''}`);
  const count = (m: RunManifest): number => m.seeds.reduce((n, s) => n + s.trees.reduce((k, t) => k + t.experts.length, 0) + s.shared.length, 0);
  const before = existsSync(join(values.out, 'run.json')) ? count(readRun(values.out)) : 0;
  const t0 = performance.now();
  const run = await trainRun({
    trees,
    out: values.out,
    source,
    methods,
    layer,
    sweep: values.sweep,
    seeds: positiveNumber('seeds', values.seeds, true) ?? 1,
    config,
    text: textEmbeddings,
    shared: !values['no-shared'],
    log,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) console.log(JSON.stringify({ run: values.out, seconds, adapter: engine.info, manifest: run }));
  else console.log(`trained ${count(run) - before} experts in ${seconds.toFixed(1)} s${before ? ` (${before} already there)` : ''} -> ${values.out}`);
  engine.destroy();
}
