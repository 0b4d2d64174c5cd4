// The benchmark driver's own handling of input and output, without a GPU: option checking (a bad --trials or a
// filter that matches nothing is an error, also under --json) and result files that never overwrite earlier ones.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs, writeResults, type BenchRecord } from '../bench/common.ts';
import type { DeviceInfo } from '../src/node/index.ts';

describe('bench options', () => {
  it('takes --trials only as a whole number >= 1', () => {
    expect(parseArgs(['matmul', '--trials', '7']).trials).toBe(7);
    for (const bad of ['abc', '0', '2.5', '', '-3']) expect(() => parseArgs(['matmul', '--trials', bad])).toThrow(`--trials needs a whole number >= 1, got "${bad}"`);
    expect(() => parseArgs(['matmul', '--trials'])).toThrow('--trials needs a value');
  });

  it('fails, with a JSON error under --json, when --shapes matches nothing', () => {
    const r = spawnSync('npx', ['tsx', 'bench/index.ts', 'reduce', '--shapes', 'no-such-shape', '--no-peer', '--json'], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!).error).toMatch(/nothing to measure: no reduce shape matched --shapes no-such-shape/);
  }, 120_000);

  it('refuses a --variants name the suite does not have, before starting the engine', () => {
    const run = (args: string[]): { status: number | null; error: string } => {
      const r = spawnSync('npx', ['tsx', 'bench/index.ts', ...args, '--no-peer', '--json'], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
      return { status: r.status, error: (JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: string }).error };
    };
    const m = run(['matmul', '--variants', 'subgroup,subgrp']);
    expect(m.status).toBe(1);
    expect(m.error).toMatch(/--variants: matmul has no variant subgrp \(it has naive, tiled, .*subgroup, splitk;/);
    expect(run(['reduce', '--variants', 'tree']).error).toMatch(/--variants: reduce has no variant tree \(it has tree-64/);
    expect(run(['scale', '--variants', 'x']).error).toMatch(/--variants: the scale suite has no variants to pick/);
  }, 120_000);
});

describe('bench result files', () => {
  it('gives a second run on the same day its own files instead of overwriting the first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
    try {
      const info: DeviceInfo = { vendor: 'v', architecture: 'a', device: 'd', description: 'Test Adapter', isSoftware: true, features: [], limits: {} };
      const record = (ms: number): BenchRecord => ({ op: 'matmul', variant: 'x', shape: '3x5', ms, gflops: 1, peer_ms: null, ratio: null, adapter: 'Test Adapter', software: true, flops: 1e6, min_ms: ms, trials: 1, reps: 1, check: 'ok' });
      const first = writeResults(dir, 'matmul', info, [record(1)]);
      const second = writeResults(dir, 'matmul', info, [record(2)]);
      expect(second.json).not.toBe(first.json);
      expect(second.json).toMatch(/-matmul-2\.json$/);
      expect((JSON.parse(readFileSync(first.json, 'utf8')) as { records: BenchRecord[] }).records[0].ms).toBe(1);
      expect((JSON.parse(readFileSync(second.json, 'utf8')) as { records: BenchRecord[] }).records[0].ms).toBe(2);
      expect(readdirSync(dir).length).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
