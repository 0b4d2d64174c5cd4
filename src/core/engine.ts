// The engine: one device, its buffer pool and kernel cache, and the command batching between them. Dispatches are
// recorded into one command encoder and submitted together when data is read back, when the batch fills, or on
// flush(). Kernel parameters go into a CPU-side uniform arena that is written just before each submit, so recording
// a dispatch never touches the queue.
import { shaderSources } from '../shaders/sources.ts';
import { acquireDevice, type DeviceInfo } from './device.ts';
import { BufferPool, type PoolStats } from './pool.ts';
import { KernelCache, WgslError, packParams, type Constants, type Kernel, type ParamValue } from './kernel.ts';

export interface RunArgs {
  constants?: Constants;
  /** Storage buffers by the binding names in the WGSL. */
  buffers: Record<string, GPUBuffer>;
  /** Fields of the shader's uniform struct by name. */
  params?: Record<string, ParamValue>;
  /** Either explicit workgroup counts, or a number of threads for a 1-D kernel (spread over x and y). */
  workgroups?: [number, number?, number?];
  threads?: number;
}

const ARENA_SLOTS = 1024;
/** Bind groups kept for reuse; past this many the cache starts over (entries of destroyed buffers never hit again). */
const BIND_GROUP_CACHE = 8192;

export class Engine {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly align: number;
  private readonly arena: ArrayBuffer;
  private readonly arenaView: DataView;
  private readonly arenaGpu: GPUBuffer;
  private arenaUsed = 0;
  private failure: Error | null = null;
  private destroyed = false;
  private readonly lost: Promise<never>;
  /** Dispatches recorded since the engine started, submits made, reads, and bind groups created (the rest of the
   * dispatches reused a cached one): for tests of batching and caching. */
  readonly counters = { dispatches: 0, submits: 0, reads: 0, bindGroups: 0 };
  /** Bind groups by kernel, parameter-arena offset and storage buffers. Creating one costs about 30 us of host time
   * in Dawn, as much as the rest of recording a dispatch, and a training step that starts with a flush repeats the same
   * kernels on the same pooled buffers at the same arena offsets every step (98% hits on a ViT zoo step). A dynamic
   * uniform offset would key on fewer things, but made lavapipe's steps 37% slower to run. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  constructor(
    readonly device: GPUDevice,
    readonly info: DeviceInfo,
    /** dawn.node's GPU object (or navigator.gpu): held so that it is not garbage-collected while the device lives. */
    readonly gpu?: GPU,
  ) {
    this.pool = new BufferPool(device, device.limits.maxStorageBufferBindingSize);
    this.kernels = new KernelCache(device, shaderSources, (e) => this.fail(e));
    this.align = device.limits.minUniformBufferOffsetAlignment;
    this.arena = new ArrayBuffer(ARENA_SLOTS * this.align);
    this.arenaView = new DataView(this.arena);
    this.arenaGpu = device.createBuffer({
      label: 'uniform-arena',
      size: this.arena.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.fail(new Error(`WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`));
    });
    this.lost = device.lost.then((info) => {
      const e = new Error(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`);
      if (!this.destroyed) this.fail(e);
      throw e;
    });
    this.lost.catch(() => undefined);
  }

  /**
   * Record a failure found asynchronously; it is thrown at the next dispatch, flush or read. A shader compile error
   * replaces an earlier generic one: using the invalid pipeline is reported first, but the shader is the cause.
   */
  fail(e: Error): void {
    if (!this.failure || (e instanceof WgslError && !(this.failure instanceof WgslError))) this.failure = e;
  }

  throwIfFailed(): void {
    if (this.destroyed) throw new Error('the engine was destroyed');
    if (this.failure) throw this.failure;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    return this.pass;
  }

  /** An encoder with no compute pass open, for copies and clears recorded in order with the dispatches. */
  private plainEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  run(shader: string, args: RunArgs): void {
    this.throwIfFailed();
    const kernel = this.kernels.get(shader, args.constants);
    const { iface } = kernel;
    const slot = iface.uniform ? Math.ceil(iface.uniform.size / this.align) * this.align : 0;
    if (this.arenaUsed + slot > this.arena.byteLength) this.flush();
    const offset = this.arenaUsed;
    packParams(shader, iface, args.params ?? {}, this.arenaView, offset);
    this.arenaUsed += slot;
    const names = Object.keys(args.buffers);
    for (const name of names) {
      if (!iface.bindings.some((b) => b.name === name)) throw new Error(`kernel "${shader}" has no binding "${name}"`);
    }
    // WebGPU refuses a buffer bound writable and bound again in the same dispatch, but only at submit, where the error
    // names no op and loses the whole batch: say it here, with the kernel and the bindings.
    for (const b of iface.bindings) {
      const buf = b.kind === 'read_write' ? args.buffers[b.name] : undefined;
      const other = buf && names.find((n) => n !== b.name && args.buffers[n] === buf);
      if (other) throw new Error(`kernel "${shader}": one buffer is bound both as "${b.name}" (written) and as "${other}"; the output must be another tensor than its inputs`);
    }
    const bindGroup = this.bindGroup(shader, kernel, args.buffers, offset);
    const groups = args.workgroups ?? this.grid(args.threads ?? 0, iface.workgroupSize[0], args.constants);
    if (groups[0] === 0 || groups[1] === 0 || groups[2] === 0) return;
    const pass = this.computePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    this.counters.dispatches++;
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /** The kernel's bind group on these storage buffers with its parameters at `offset` in the arena, cached. */
  private bindGroup(shader: string, kernel: Kernel, buffers: Record<string, GPUBuffer>, offset: number): GPUBindGroup {
    const { iface } = kernel;
    let key = `${this.idOf(kernel.layout)}@${offset}`;
    for (const b of iface.bindings) {
      if (b.kind === 'uniform') continue;
      const buf = buffers[b.name];
      if (!buf) throw new Error(`kernel "${shader}": no buffer for binding "${b.name}"`);
      key += `,${this.idOf(buf)}`;
    }
    let group = this.bindGroups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = iface.bindings.map((b) =>
      b.kind === 'uniform'
        ? { binding: b.binding, resource: { buffer: this.arenaGpu, offset, size: iface.uniform!.size } }
        : { binding: b.binding, resource: { buffer: buffers[b.name] } },
    );
    group = this.device.createBindGroup({ layout: kernel.layout, entries });
    if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
    this.bindGroups.set(key, group);
    this.counters.bindGroups++;
    return group;
  }

  /** Workgroups for `threads` threads of a 1-D kernel; beyond the per-dimension limit the rest goes to y. */
  private grid(threads: number, wg: number, constants?: Constants): [number, number, number] {
    const size = typeof constants?.WG === 'number' ? constants.WG : wg;
    const total = Math.ceil(threads / size);
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (total <= max) return [total, 1, 1];
    const y = Math.ceil(total / max);
    return [Math.ceil(total / y), y, 1];
  }

  /** Workgroups for a 1-D kernel over `threads`, for kernels whose x dimension is computed by the caller. */
  gridFor(threads: number, wg = 256): [number, number, number] {
    return this.grid(threads, wg);
  }

  clear(buffer: GPUBuffer, offset = 0, size?: number): void {
    this.throwIfFailed();
    this.plainEncoder().clearBuffer(buffer, offset, size);
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.throwIfFailed();
    this.plainEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submit everything recorded so far. */
  flush(): void {
    this.throwIfFailed();
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaGpu, 0, this.arena, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.arenaUsed = 0;
    this.counters.submits++;
    this.pool.afterSubmit();
  }

  /** Copy host data into a buffer. Pending work is submitted first: queue writes run before unsubmitted commands. */
  upload(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Read `bytes` bytes of a buffer back to the host, after all recorded work. */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    this.flush();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    this.counters.submits++;
    this.counters.reads++;
    try {
      try {
        await Promise.race([staging.mapAsync(GPUMapMode.READ), this.lost]);
      } catch (e) {
        this.throwIfFailed();
        throw e;
      }
      this.throwIfFailed();
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  /** Wait until the GPU has finished everything submitted, surfacing any error found meanwhile. */
  async sync(): Promise<void> {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost]);
    this.throwIfFailed();
  }

  get memory(): PoolStats {
    return this.pool.counters;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (current === this) current = null;
    this.device.destroy();
  }
}

let current: Engine | null = null;

/** The engine that ops run on; set by initEngine (or initNode in Node). */
export function engine(): Engine {
  if (!current) throw new Error('no engine: call initEngine() (browser) or initNode() (Node) first');
  return current;
}

export function setEngine(e: Engine | null): void {
  current = e;
}

/**
 * Create the engine on `gpu` (default: navigator.gpu) and make it current. In Node, use initNode() from
 * src/node, which supplies dawn.node's GPU.
 */
export async function initEngine(gpu?: GPU, powerPreference?: GPUPowerPreference): Promise<Engine> {
  const g = gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const { device, info } = await acquireDevice(g, powerPreference);
  const e = new Engine(device, info, g);
  current = e;
  return e;
}
