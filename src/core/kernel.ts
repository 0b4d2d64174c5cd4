// Compiling WGSL kernels: each (shader, override constants) pair becomes one cached compute pipeline. Bind group
// layouts and the byte layout of the `params` uniform come from reflecting the WGSL source (wgsl_reflect), so a
// shader file is the single description of its interface. Compile errors carry the shader name and source line.
import { WgslReflect, ResourceType, type TypeInfo } from 'wgsl_reflect/wgsl_reflect.module.js';

export type Scalar = 'f32' | 'i32' | 'u32';
export type ParamValue = number | readonly number[];
export type Constants = Record<string, number | boolean>;

/** A WGSL compile or validation error, naming the shader and quoting the offending line. */
export class WgslError extends Error {
  constructor(
    readonly shader: string,
    readonly detail: string,
    readonly line?: number,
    readonly sourceLine?: string,
  ) {
    const where = line !== undefined ? ` at line ${line}` : '';
    const quote = sourceLine !== undefined ? `\n  ${line} | ${sourceLine.trim()}` : '';
    super(`WGSL error in shader "${shader}"${where}: ${detail}${quote}`);
    this.name = 'WgslError';
  }
}

interface UniformField {
  offset: number;
  scalar: Scalar;
  /** Scalar slots the field holds (array count x vector width). */
  slots: number;
  vecWidth: number;
  stride: number;
}

interface Binding {
  name: string;
  binding: number;
  kind: 'uniform' | 'read' | 'read_write';
}

export interface KernelInterface {
  bindings: Binding[];
  uniform?: { name: string; size: number; fields: Map<string, UniformField> };
  overrides: Set<string>;
  workgroupSize: [number, number, number];
}

export interface Kernel {
  shader: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  iface: KernelInterface;
}

function scalarOf(t: TypeInfo | null | undefined): Scalar | null {
  const n = t?.name;
  return n === 'f32' || n === 'i32' || n === 'u32' ? n : null;
}

function vectorWidth(name: string): number {
  const m = /^vec([234])/.exec(name);
  return m ? Number(m[1]) : 1;
}

/** Describe a struct member as scalar slots: u32, vec4<f32>, array<vec4<u32>, N> and array<f32, N> are supported. */
function uniformField(shader: string, name: string, type: TypeInfo, offset: number): UniformField {
  const t = type as TypeInfo & { format?: TypeInfo; count?: number; stride?: number };
  if (t.isArray && t.format) {
    const elem = t.format as TypeInfo & { format?: TypeInfo };
    const width = vectorWidth(elem.name);
    const scalar = width > 1 ? scalarOf(elem.format) : scalarOf(elem);
    if (!scalar) throw new WgslError(shader, `uniform field "${name}" has unsupported element type ${elem.name}`);
    return { offset, scalar, slots: (t.count ?? 0) * width, vecWidth: width, stride: t.stride ?? 16 };
  }
  const width = vectorWidth(t.name);
  const scalar = width > 1 ? scalarOf(t.format) : scalarOf(t);
  if (!scalar) throw new WgslError(shader, `uniform field "${name}" has unsupported type ${t.name}`);
  return { offset, scalar, slots: width, vecWidth: width, stride: width * 4 };
}

export function reflectKernel(shader: string, source: string): KernelInterface {
  let r: WgslReflect;
  try {
    r = new WgslReflect(source);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /line:?\s*(\d+)/i.exec(msg);
    const line = m ? Number(m[1]) : undefined;
    throw new WgslError(shader, `parse failed: ${msg}`, line, line ? source.split('\n')[line - 1] : undefined);
  }
  const entry = r.entry.compute[0];
  if (!entry) throw new WgslError(shader, 'no @compute entry point');
  const bindings: Binding[] = [];
  let uniform: KernelInterface['uniform'];
  for (const v of r.getBindGroups()[0] ?? []) {
    if (!v) continue;
    if (v.resourceType === ResourceType.Uniform) {
      const st = v.type as TypeInfo & { members?: { name: string; offset: number; type: TypeInfo }[] };
      const fields = new Map<string, UniformField>();
      for (const m of st.members ?? []) fields.set(m.name, uniformField(shader, m.name, m.type, m.offset));
      uniform = { name: v.name, size: v.type.size, fields };
      bindings.push({ name: v.name, binding: v.binding, kind: 'uniform' });
    } else if (v.resourceType === ResourceType.Storage) {
      bindings.push({ name: v.name, binding: v.binding, kind: v.access === 'read' ? 'read' : 'read_write' });
    } else {
      throw new WgslError(shader, `binding "${v.name}" is not a buffer; compute kernels here use buffers only`);
    }
  }
  const ws = entry.workgroupSize ?? [1, 1, 1];
  return {
    bindings,
    uniform,
    overrides: new Set(r.overrides.map((o) => o.name)),
    workgroupSize: [Number(ws[0]) || 1, Number(ws[1]) || 1, Number(ws[2]) || 1],
  };
}

/** Write `values` into the byte layout of the kernel's uniform struct; every field must be given. */
export function packParams(shader: string, iface: KernelInterface, values: Record<string, ParamValue>, out: DataView, at: number): void {
  const u = iface.uniform;
  if (!u) {
    if (Object.keys(values).length) throw new WgslError(shader, 'parameters given but the shader has no uniform');
    return;
  }
  for (const key of Object.keys(values)) {
    if (!u.fields.has(key)) throw new Error(`kernel "${shader}": unknown parameter "${key}" (has ${[...u.fields.keys()].join(', ')})`);
  }
  for (const [name, f] of u.fields) {
    const v = values[name];
    if (v === undefined) throw new Error(`kernel "${shader}": parameter "${name}" is missing`);
    const list = typeof v === 'number' ? [v] : v;
    if (list.length > f.slots) throw new Error(`kernel "${shader}": parameter "${name}" takes ${f.slots} values, got ${list.length}`);
    for (let i = 0; i < f.slots; i++) {
      const x = list[i] ?? 0;
      const pos = at + f.offset + Math.floor(i / f.vecWidth) * f.stride + (i % f.vecWidth) * 4;
      if (f.scalar === 'f32') out.setFloat32(pos, x, true);
      else if (f.scalar === 'i32') out.setInt32(pos, x, true);
      else out.setUint32(pos, x, true);
    }
  }
}

function constantsKey(c: Constants | undefined): string {
  if (!c) return '';
  return Object.keys(c).sort().map((k) => `${k}=${Number(c[k])}`).join(',');
}

export class KernelCache {
  private sources: Map<string, string>;
  private ifaces = new Map<string, KernelInterface>();
  private kernels = new Map<string, Kernel>();

  constructor(
    private device: GPUDevice,
    sources: Record<string, string>,
    /** Receives errors found after the fact (compilation info arrives asynchronously). */
    private onError: (e: Error) => void,
  ) {
    this.sources = new Map(Object.entries(sources));
  }

  /** Add or replace a shader source (tests and extensions); drops pipelines compiled from an older text. */
  register(name: string, source: string): void {
    this.sources.set(name, source);
    this.ifaces.delete(name);
    for (const key of [...this.kernels.keys()]) if (key.startsWith(`${name}|`)) this.kernels.delete(key);
  }

  interface(name: string): KernelInterface {
    let iface = this.ifaces.get(name);
    if (!iface) {
      const src = this.sources.get(name);
      if (src === undefined) throw new Error(`unknown shader "${name}"`);
      iface = reflectKernel(name, src);
      this.ifaces.set(name, iface);
    }
    return iface;
  }

  get(name: string, constants?: Constants): Kernel {
    const key = `${name}|${constantsKey(constants)}`;
    const hit = this.kernels.get(key);
    if (hit) return hit;
    const iface = this.interface(name);
    for (const k of Object.keys(constants ?? {})) {
      if (!iface.overrides.has(k)) throw new Error(`shader "${name}" has no override constant "${k}"`);
    }
    const source = this.sources.get(name)!;
    const device = this.device;
    // Errors go to an error scope rather than the uncaptured-error handler, so they can be reported with the
    // compiler's line number; they arrive asynchronously and the engine throws them at the next sync point.
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: name, code: source });
    const layout = device.createBindGroupLayout({
      label: name,
      entries: iface.bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.kind === 'uniform' ? 'uniform' : b.kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = device.createComputePipeline({
      label: `${name}(${constantsKey(constants)})`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main', constants: constants ? toConstants(constants) : undefined },
    });
    void Promise.all([module.getCompilationInfo(), device.popErrorScope()]).then(([info, scoped]) => {
      const err = compileError(name, source, info);
      if (err) this.onError(err);
      else if (scoped) this.onError(new WgslError(name, `pipeline creation failed: ${scoped.message}`));
    });
    const kernel: Kernel = { shader: name, pipeline, layout, iface };
    this.kernels.set(key, kernel);
    return kernel;
  }

  /** Compile a shader now and throw a WgslError if it does not compile. */
  async check(name: string, constants?: Constants): Promise<void> {
    const source = this.sources.get(name);
    if (source === undefined) throw new Error(`unknown shader "${name}"`);
    const module = this.device.createShaderModule({ label: name, code: source });
    const err = compileError(name, source, await module.getCompilationInfo());
    if (err) throw err;
    this.interface(name);
    this.get(name, constants);
  }
}

function compileError(name: string, source: string, info: GPUCompilationInfo): WgslError | null {
  const m = info.messages.find((msg) => msg.type === 'error');
  return m ? new WgslError(name, m.message, m.lineNum, source.split('\n')[m.lineNum - 1]) : null;
}

function toConstants(c: Constants): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) out[k] = Number(v);
  return out;
}
