// The layering rules of README's architecture section, checked on the source: no import cycles, src/core and
// src/shaders import nothing above them and no Node built-ins (they must run in a browser), and every source file
// opens with a comment on its role.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const walk = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
const files = walk(join(root, 'src'));
const rel = (f: string): string => relative(root, f);

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)];
  return specs.map((m) => m[1]);
}

const graph = new Map(files.map((f) => [f, imports(f).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(f), s))]));

describe('architecture', () => {
  it('sees the source tree and its imports', () => {
    expect(files.length).toBeGreaterThan(30);
    expect([...graph.values()].flat().length).toBeGreaterThan(100);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map(rel).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) visit(g, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('keeps src/core and src/shaders browser-safe and below everything else', () => {
    const bad: string[] = [];
    for (const f of files.filter((x) => /src\/(core|shaders)\//.test(x))) {
      for (const spec of imports(f)) {
        if (spec.startsWith('.')) {
          const target = rel(resolve(dirname(f), spec));
          if (!/^src\/(core|shaders)\//.test(target)) bad.push(`${rel(f)} imports ${target}`);
        } else if (spec.startsWith('node:') || ['fs', 'path', 'zlib', 'os', 'child_process', 'webgpu'].includes(spec)) {
          bad.push(`${rel(f)} imports ${spec}`);
        }
      }
      const text = readFileSync(f, 'utf8');
      if (/\bprocess\.|\bBuffer\.|\brequire\(/.test(text)) bad.push(`${rel(f)} uses a Node global`);
    }
    expect(bad).toEqual([]);
  });

  it('never imports the Node entry or the CLI from below', () => {
    const order = ['src/core', 'src/node', 'src/datasets', 'src/probex', 'src/cli'];
    const level = (f: string): number => order.findIndex((p) => rel(f).startsWith(p));
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) {
        // datasets and node are side by side; everything else must point down.
        const sideBySide = [level(f), level(d)].sort().join() === '1,2';
        if (level(d) > level(f) && !sideBySide) bad.push(`${rel(f)} imports ${rel(d)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('opens every source file with a comment on its role', () => {
    const missing = files.filter((f) => !readFileSync(f, 'utf8').startsWith('//') && !rel(f).endsWith('.d.ts')).map(rel);
    expect(missing).toEqual([]);
  });
});
