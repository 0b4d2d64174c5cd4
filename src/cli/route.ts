// `probex route`: routing accuracy over the test models of a zoo's trees (with bases, without, and by clustering),
// without training anything; the same report `probex eval` gives for the trees of a run.
import { parseArgs } from 'node:util';
import { zooSamples } from '../probex/data/samples.ts';
import { routeTestModels, routingMarkdown } from '../probex/routing/test-routing.ts';

export function routeCommand(args: string[]): void {
  const { values } = parseArgs({ args, options: { zoo: { type: 'string' }, trees: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (!values.zoo) throw new Error('route needs --zoo DIR');
  const trees = zooSamples(values.zoo, values.trees?.split(','));
  const t0 = performance.now();
  const r = routeTestModels(trees);
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) console.log(JSON.stringify({ zoo: values.zoo, trees: trees.map((t) => t.tree), seconds, ...r }));
  else console.log(`${trees.length} trees: ${trees.map((t) => t.tree).join(', ')}\n\n${routingMarkdown(r)}`);
}
