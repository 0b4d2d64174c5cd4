// The layering rules of README's architecture section, checked on the source: no import cycles, src/core and
// src/shaders import nothing above them and no Node built-ins (they must run in a browser), every import points down
// the README's list (which must name every source file's place), and every source file opens with a comment on its role.
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

  it('imports only down the README architecture list, whose entries cover every source file', () => {
    // The list's entries: the first column of each line of the README's architecture block ("a/, b/" or "dir/x.ts, y.ts").
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('## Architecture')).split('```')[1];
    const entries: string[][] = [];
    for (const line of block.split('\n')) {
      const m = /^(\S.*?)\s{2,}\S/.exec(line);
      if (!m) continue;
      let dir = '';
      entries.push(m[1].split(/,\s*/).map((p) => {
        const full = p.includes('/') ? p : dir + p;
        dir = full.slice(0, full.lastIndexOf('/') + 1);
        const path = full.replace(/\*\.wgsl$/, '');
        return path.endsWith('.ts') || path.endsWith('/') ? path : `${path}/`;
      }));
    }
    // A file's entry is the one with the longest matching path (src/core/tune/table.ts before src/core/tune/).
    const entryOf = (f: string): number => {
      let best = -1;
      let length = -1;
      entries.forEach((paths, i) => {
        for (const p of paths) if ((rel(f) === p || (p.endsWith('/') && rel(f).startsWith(p))) && p.length > length) [best, length] = [i, p.length];
      });
      return best;
    };
    const unlisted = files.filter((f) => !f.endsWith('.d.ts') && entryOf(f) < 0).map(rel);
    expect(unlisted).toEqual([]);
    const up: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (entryOf(d) < entryOf(f)) up.push(`${rel(f)} imports ${rel(d)}`);
    expect(up).toEqual([]);
    expect(entries.length).toBeGreaterThan(15);
  });

  it('opens every source file with a comment on its role', () => {
    const missing = files.filter((f) => !readFileSync(f, 'utf8').startsWith('//') && !rel(f).endsWith('.d.ts')).map(rel);
    expect(missing).toEqual([]);
  });
});
