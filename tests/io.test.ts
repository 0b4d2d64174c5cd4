// safetensors bytes, read and written: round trips with metadata and 8-byte data alignment, and clear rejections of
// corrupt files built by hand here; saveModule/loadModule round trips a small model, and a load that does not fit
// fails without touching any parameter.
import { describe, it, expect } from 'vitest';
import * as E from '../src/node/index.ts';
import { useEngine } from './support/engine.ts';

useEngine();

const enc = new TextEncoder();

/** A safetensors file from a header (object, or raw header text) and data bytes; `length` overrides the length field. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const head = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

const bytesOf = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** The JSON header of an encoded file, and where its data starts. */
function headerOf(file: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  const len = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + len))), dataStart: 8 + len };
}

describe('safetensors round trip', () => {
  const f32 = Float32Array.from([1.5, -2, Math.PI, 1e-30, -0, Infinity, NaN]);
  const i32 = Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, 7, -7, 1, 2, 3]);
  const u8 = Uint8Array.from([1, 2, 3]);
  const f64 = Float64Array.from([Math.E, -1e300]);
  const bool = Uint8Array.from([1, 0, 1, 1, 0]);
  const u32 = Uint32Array.from([0xffffffff, 0, 12345]);
  const entries: [string, { dtype: E.SafeDType; shape: number[]; data: ArrayBufferView }][] = [
    ['f32', { dtype: 'F32', shape: [7], data: f32 }],
    ['layer.0.weight', { dtype: 'I32', shape: [2, 2, 2], data: i32 }],
    ['bytes', { dtype: 'U8', shape: [3], data: u8 }],
    ['f64', { dtype: 'F64', shape: [1, 2], data: f64 }],
    ['mask', { dtype: 'BOOL', shape: [5], data: bool }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ['scalar', { dtype: 'U32', shape: [], data: u32.subarray(2) }],
    ['counts', { dtype: 'U32', shape: [3], data: u32 }],
  ];

  it('every dtype, shape and byte comes back, with the metadata', () => {
    const metadata = { format: 'pt', note: 'naïve ☃ — utf-8 in metadata', empty: '' };
    const file = E.encodeSafetensors(entries, metadata);
    const back = E.decodeSafetensors(file);
    expect(back.metadata).toEqual(metadata);
    expect([...back.tensors.keys()].sort()).toEqual(entries.map(([n]) => n).sort());
    for (const [name, t] of entries) {
      const got = back.tensors.get(name)!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect([...got.bytes], name).toEqual([...bytesOf(t.data)]);
    }
    // Typed views over the decoded bytes reproduce the values (NaN and -0 included).
    const fb = back.tensors.get('f32')!.bytes;
    const vals = new Float32Array(fb.slice().buffer);
    expect(Object.is(vals[4], -0)).toBe(true);
    expect(Number.isNaN(vals[6])).toBe(true);
  });

  it('the data starts 8-byte aligned and the offsets tile the data in order', () => {
    for (const metadata of [{}, { a: 'x' }, { a: 'xy' }, { a: 'é' }, { a: '☃☃☃' }] as Record<string, string>[]) {
      const file = E.encodeSafetensors(entries, metadata);
      const { header, dataStart } = headerOf(file);
      expect(dataStart % 8, JSON.stringify(metadata)).toBe(0);
      let at = 0;
      for (const [name, t] of entries) {
        const e = header[name] as { data_offsets: [number, number] };
        expect(e.data_offsets, name).toEqual([at, at + t.data.byteLength]);
        at += t.data.byteLength;
      }
      expect(file.length).toBe(dataStart + at);
    }
  });

  it('decodes a file whose views start anywhere in a larger buffer', () => {
    const file = E.encodeSafetensors(entries);
    const big = new Uint8Array(file.length + 3);
    big.set(file, 3);
    const back = E.decodeSafetensors(big.subarray(3));
    expect([...back.tensors.get('counts')!.bytes]).toEqual([...bytesOf(u32)]);
  });

  it('reads a hand-built file (no padding, keys in any order, no metadata)', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const file = build({ b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] }, a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, data);
    const back = E.decodeSafetensors(file);
    expect(back.metadata).toEqual({});
    expect([...new Float32Array(back.tensors.get('a')!.bytes.slice().buffer)]).toEqual([1, 2, 3, 4]);
    expect([...new Float32Array(back.tensors.get('b')!.bytes.slice().buffer)]).toEqual([5, 6]);
  });

  it('tensor names that are also Object.prototype keys are ordinary names', () => {
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty'];
    const file = E.encodeSafetensors(names.map((n, i) => [n, { dtype: 'U8', shape: [1], data: Uint8Array.of(i) }]));
    const back = E.decodeSafetensors(file);
    expect(names.map((n) => [...back.tensors.get(n)!.bytes])).toEqual([[0], [1], [2], [3]]);
    expect(() => E.encodeSafetensors([['w', { dtype: 'U8', shape: [1], data: new Uint8Array(1) }], ['w', { dtype: 'U8', shape: [1], data: new Uint8Array(1) }]])).toThrow(
      /duplicate or reserved tensor name "w"/,
    );
  });

  it('the encoder rejects wrong byte counts, reserved names and non-string metadata', () => {
    expect(() => E.encodeSafetensors([['w', { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) }]])).toThrow(
      /safetensors: "w" has 20 bytes, shape \[2,3\] of F32 needs 24/,
    );
    expect(() => E.encodeSafetensors([['__metadata__', { dtype: 'U8', shape: [1], data: new Uint8Array(1) }]])).toThrow(/reserved tensor name/);
    expect(() => E.encodeSafetensors([], { n: 3 as unknown as string })).toThrow(/metadata "n" must be a string/);
  });
});

describe('safetensors rejects corrupt files clearly', () => {
  const t = (dtype: string, shape: number[], data_offsets: unknown): unknown => ({ dtype, shape, data_offsets });
  const data16 = new Uint8Array(16);

  it('a file too short for the length field', () => {
    expect(() => E.decodeSafetensors(new Uint8Array(5))).toThrow(/safetensors: file of 5 bytes is too short for a header/);
    expect(() => E.decodeSafetensors(new Uint8Array(0))).toThrow(/too short/);
  });

  it('a truncated file: cut inside the header, or inside the data', () => {
    const file = E.encodeSafetensors([['w', { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]]);
    const { dataStart } = headerOf(file);
    expect(() => E.decodeSafetensors(file.subarray(0, dataStart - 3))).toThrow(/safetensors: header length \d+ exceeds the file/);
    expect(() => E.decodeSafetensors(file.subarray(0, file.length - 1))).toThrow(
      /safetensors: "w" has data_offsets \[0,16\] outside the 15 data bytes/,
    );
  });

  it('a header length beyond the file, up to 2^64 - 1', () => {
    expect(() => E.decodeSafetensors(build({}, data16, 1000n))).toThrow(/safetensors: header length 1000 exceeds the file \(26 bytes\)/);
    expect(() => E.decodeSafetensors(build({}, data16, 2n ** 64n - 1n))).toThrow(/header length 18446744073709551615 exceeds the file/);
    const json = new TextEncoder().encode('{"format": "probex-zoo/1", "trees": {}}');
    expect(() => E.decodeSafetensors(json)).toThrow(/exceeds the file \(39 bytes\); it starts with text \("\{"format"\), not a safetensors length word/);
  });

  it('a header that is not JSON, not UTF-8, or not an object', () => {
    expect(() => E.decodeSafetensors(build('{"w": {"dtype": "F32",', data16))).toThrow(/safetensors: header is not valid UTF-8 JSON/);
    const bad = build('{"\u00ff": 1}');
    bad[10] = 0xff; // an invalid UTF-8 byte inside the string
    expect(() => E.decodeSafetensors(bad)).toThrow(/safetensors: header is not valid UTF-8 JSON/);
    expect(() => E.decodeSafetensors(build('[1, 2]'))).toThrow(/safetensors: header is not a JSON object/);
    expect(() => E.decodeSafetensors(build('null'))).toThrow(/safetensors: header is not a JSON object/);
    expect(() => E.decodeSafetensors(build('{"w": null}', data16))).toThrow(/safetensors: "w"/);
    expect(() => E.decodeSafetensors(build('{"w": 3}', data16))).toThrow(/safetensors: "w"/);
    expect(() => E.decodeSafetensors(build({ __metadata__: { a: 1 } }))).toThrow(/__metadata__ must map strings to strings/);
    expect(() => E.decodeSafetensors(build({ __metadata__: ['a'] }))).toThrow(/__metadata__ must map strings to strings/);
  });

  it('an unknown or missing dtype', () => {
    for (const dtype of ['F8', 'f32', 'toString', '__proto__', 'constructor']) {
      expect(() => E.decodeSafetensors(build({ w: t(dtype, [4], [0, 16]) }, data16)), dtype).toThrow(
        new RegExp(`safetensors: "w" has unknown dtype ${dtype}`),
      );
    }
    expect(() => E.decodeSafetensors(build({ w: { shape: [4], data_offsets: [0, 16] } }, data16))).toThrow(/unknown dtype undefined/);
  });

  it('an invalid shape', () => {
    for (const shape of [[-1, 4], [2.5], 'x', null]) {
      expect(() => E.decodeSafetensors(build({ w: { dtype: 'U8', shape, data_offsets: [0, 4] } }, data16))).toThrow(/safetensors: "w" has an invalid shape/);
    }
  });

  it('offsets outside the data, reversed or malformed', () => {
    for (const off of [[0, 17], [8, 4], [-4, 0], [0.5, 4.5], [0], [0, 4, 8], '0-4', null]) {
      expect(() => E.decodeSafetensors(build({ w: t('U8', [4], off) }, data16)), JSON.stringify(off)).toThrow(
        /safetensors: "w" has data_offsets .* outside the 16 data bytes/,
      );
    }
  });

  it('overlapping tensors', () => {
    expect(() => E.decodeSafetensors(build({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, data16))).toThrow(
      /safetensors: tensors "a" and "b" overlap/,
    );
    // Detected whatever the key order and however far apart in the header.
    expect(() =>
      E.decodeSafetensors(build({ c: t('U8', [2], [10, 12]), a: t('U8', [16], [0, 16]), b: t('U8', [2], [12, 14]) }, data16)),
    ).toThrow(/overlap/);
    expect(() => E.decodeSafetensors(build({ a: t('F32', [4], [0, 16]), b: t('F32', [4], [0, 16]) }, data16))).toThrow(/overlap/);
  });

  it('a byte count that does not match the shape', () => {
    expect(() => E.decodeSafetensors(build({ w: t('F32', [2, 3], [0, 16]) }, data16))).toThrow(
      /safetensors: "w" holds 16 bytes, shape \[2,3\] of F32 needs 24/,
    );
    expect(() => E.decodeSafetensors(build({ w: t('F64', [3], [0, 16]) }, data16))).toThrow(/holds 16 bytes, shape \[3\] of F64 needs 24/);
    expect(() => E.decodeSafetensors(build({ w: t('BOOL', [0], [0, 1]) }, data16))).toThrow(/holds 1 bytes, shape \[0\] of BOOL needs 0/);
  });
});

class TwoLayer extends E.Module {
  readonly l1: E.Linear;
  readonly l2: E.Linear;
  constructor(seed: number, hidden = 8, out = 3) {
    super();
    this.l1 = new E.Linear(4, hidden, { seed });
    this.l2 = new E.Linear(hidden, out, { seed: seed + 1 });
  }
  forward(x: E.Tensor): E.Tensor {
    return E.tidy(() => this.l2.forward(E.relu(this.l1.forward(x))));
  }
}

async function values(m: E.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of m.namedParameters()) out[name] = [...(await p.data())];
  return out;
}

describe('saveModule / loadModule', () => {
  it('round trips a two-Linear module into a differently seeded one, bit for bit', async () => {
    const a = new TwoLayer(1);
    const b = new TwoLayer(2);
    expect(a.namedParameters().map(([n]) => n)).toEqual(['l1.weight', 'l1.bias', 'l2.weight', 'l2.bias']);
    const va = await values(a);
    expect(await values(b)).not.toEqual(va);
    const bytes = await E.saveModule(a, { epoch: '3' });
    expect(E.loadModule(b, bytes)).toEqual({ epoch: '3' });
    expect(await values(b)).toEqual(va);
    const x = E.uniform([5, 4], 9, -1, 1);
    expect([...(await b.forward(x).data())]).toEqual([...(await a.forward(x).data())]);
    // The file is ordinary safetensors: names, F32, PyTorch's [out, in] weight layout.
    const file = E.decodeSafetensors(bytes);
    expect(file.tensors.get('l1.weight')).toMatchObject({ dtype: 'F32', shape: [8, 4] });
    expect(file.tensors.get('l2.bias')).toMatchObject({ dtype: 'F32', shape: [3] });
    a.dispose();
    b.dispose();
  });

  it('loads from a file view that does not start at an aligned offset', async () => {
    const a = new TwoLayer(3);
    const b = new TwoLayer(4);
    const bytes = await E.saveModule(a);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    E.loadModule(b, shifted.subarray(1));
    expect(await values(b)).toEqual(await values(a));
  });

  it('a shape mismatch fails with a clear message and modifies nothing', async () => {
    const src = new TwoLayer(5, 8, 4); // l2 is [4, 8] here, [3, 8] in the target: only the last layer differs
    const dst = new TwoLayer(6);
    const before = await values(dst);
    const bytes = await E.saveModule(src);
    expect(() => E.loadModule(dst, bytes)).toThrow(/loadModule: "l2.weight" is F32 \[4,8\] in the file, the module needs F32 \[3, 8\]/);
    expect(await values(dst)).toEqual(before);
  });

  it('a missing tensor fails with a clear message and modifies nothing', async () => {
    const src = new TwoLayer(7);
    const dst = new TwoLayer(8);
    const before = await values(dst);
    const partial = await E.tensorsToSafetensors(src.namedParameters().filter(([n]) => n !== 'l2.bias'));
    expect(() => E.loadModule(dst, partial)).toThrow(/loadModule: file lacks parameter "l2.bias"/);
    expect(await values(dst)).toEqual(before);
  });

  it('extra tensors and a wrong dtype fail too, modifying nothing', async () => {
    const src = new TwoLayer(9);
    const dst = new TwoLayer(10);
    const before = await values(dst);
    const extra = await E.tensorsToSafetensors([...src.namedParameters(), ['l3.weight', E.zeros([2])]]);
    expect(() => E.loadModule(dst, extra)).toThrow(/loadModule: file has tensors the module lacks: l3.weight/);
    const named = src.namedParameters().map(([n, p]): [string, E.Tensor] => [n, n === 'l2.bias' ? E.zeros([3], 'i32') : p]);
    const wrongDtype = await E.tensorsToSafetensors(named);
    expect(() => E.loadModule(dst, wrongDtype)).toThrow(/loadModule: "l2.bias" is I32 \[3\] in the file, the module needs F32 \[3\]/);
    expect(() => E.loadModule(dst, new Uint8Array(4))).toThrow(/safetensors: file of 4 bytes is too short/);
    expect(await values(dst)).toEqual(before);
  });
});
