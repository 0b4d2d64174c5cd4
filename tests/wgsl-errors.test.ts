// A broken shader fails with its name, the compiler's message and the offending line, and a lost device fails the
// next read instead of hanging. Each case runs on its own engine because such failures are sticky.
import { describe, it, expect } from 'vitest';
import { initNode, tensor, WgslError } from '../src/node/index.ts';

const BROKEN = `// a test kernel with a type error on line 6
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  y[i] = vec2<f32>(1.0, 2.0);
}
`;

describe('WGSL errors', () => {
  it('a compile error carries the shader name, the message and the source line', async () => {
    const engine = await initNode();
    try {
      engine.kernels.register('broken_test', BROKEN);
      const t = tensor([1, 2, 3]);
      engine.run('broken_test', { buffers: { y: t.buffer }, workgroups: [1] });
      const err = await t.data().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WgslError);
      const msg = (err as Error).message;
      expect(msg).toContain('"broken_test"');
      expect(msg).toMatch(/at line 6/);
      expect(msg).toContain('y[i] = vec2<f32>(1.0, 2.0);');
      await expect(engine.kernels.check('broken_test')).rejects.toThrow(/broken_test.*line 6/s);
    } finally {
      engine.destroy();
    }
  });

  it('a syntax error is reported when the kernel is first used, with its line', async () => {
    const engine = await initNode();
    try {
      engine.kernels.register('syntax_test', BROKEN.replace('let i = gid.x;', 'let i = gid.x'));
      expect(() => engine.run('syntax_test', { buffers: {}, workgroups: [1] })).toThrow(/shader "syntax_test".*line/s);
    } finally {
      engine.destroy();
    }
  });
});

describe('device loss', () => {
  it('fails pending and later reads with the reason', async () => {
    const engine = await initNode();
    const t = tensor([1, 2, 3]);
    engine.device.destroy();
    await expect(t.data()).rejects.toThrow(/device lost|destroyed/i);
    engine.destroy();
  });
});
