// Prints the WebGPU adapter the engine gets in Node (exit 1 if there is none): `npm run adapter [-- --json]`.
import { parseArgs } from 'node:util';
import { initNode } from '../src/node/index.ts';

const json = process.argv.includes('--json');
try {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    console.log('usage: npm run adapter [-- --json]   (the WebGPU adapter the engine gets in Node, its features and limits)');
    process.exit(0);
  }
  const engine = await initNode();
  const { info } = engine;
  if (json) console.log(JSON.stringify(info));
  else {
    console.log(`adapter: ${info.description} (${info.vendor}, ${info.architecture})${info.isSoftware ? ' [software adapter]' : ''}`);
    console.log(`features: ${info.features.join(', ')}`);
    for (const [k, v] of Object.entries(info.limits)) console.log(`  ${k}: ${v}`);
  }
  engine.destroy();
} catch (e) {
  const message = e instanceof Error ? e.message : String(e);
  console.log(json ? JSON.stringify({ error: message }) : message);
  process.exit(1);
}
