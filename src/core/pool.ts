// GPU buffers for tensors, reused by exact byte size. Freed buffers wait in per-size free lists instead of being
// destroyed, because creating buffers is slow and training loops ask for the same sizes every step.

// Read at call time: in Node the GPU* globals exist only once Dawn has been loaded.
const storageUsage = (): number => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export interface PoolStats {
  /** Bytes in every buffer the pool owns (in use or waiting for reuse). */
  bytesAllocated: number;
  /** Bytes in buffers currently held by tensors. */
  bytesInUse: number;
  /** Buffers created since the pool started. */
  buffersCreated: number;
  /** Buffers waiting in free lists. */
  buffersFree: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private doomed: GPUBuffer[] = [];
  private peakInUse = 0;
  /** Free buffers in the order they were released (a Set iterates in insertion order), for eviction. */
  private released = new Set<GPUBuffer>();
  /** Creation order of each buffer, for takeFree. */
  private born = new WeakMap<GPUBuffer, number>();
  private created = 0;
  private stats: PoolStats = { bytesAllocated: 0, bytesInUse: 0, buffersCreated: 0, buffersFree: 0 };

  constructor(
    private device: GPUDevice,
    private maxBindingBytes: number,
    /** Free buffers beyond this many bytes, or beyond the most bytes ever in use if that is more, are destroyed (those
     * freed longest ago first) rather than kept. The peak matters on a GPU: a step of 250 wide models frees gigabytes
     * of gradient temporaries that the next step asks for again, and re-creating (and zeroing) them every step costs
     * more than keeping them. */
    private keepFreeBytes = 1 << 30,
  ) {}

  acquire(bytes: number, what: string): GPUBuffer {
    // Bindings must be non-empty and 4-byte aligned; a 0-element tensor still gets one word.
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (size > this.maxBindingBytes) {
      throw new Error(
        `${what}: ${size} bytes exceeds this device's maxStorageBufferBindingSize (${this.maxBindingBytes} bytes); ` +
          'split the tensor (tensors larger than one binding are not supported yet)',
      );
    }
    let buffer = this.takeFree(size);
    if (buffer) {
      this.stats.buffersFree--;
    } else {
      buffer = this.device.createBuffer({ size, usage: storageUsage() });
      this.born.set(buffer, this.created++);
      this.stats.bytesAllocated += size;
      this.stats.buffersCreated++;
    }
    this.stats.bytesInUse += size;
    this.peakInUse = Math.max(this.peakInUse, this.stats.bytesInUse);
    return buffer;
  }

  /** The oldest free buffer of this size. Taking the oldest rather than the last freed makes the buffer a tensor gets
   * depend only on which buffers are free, not on the order they were freed in: a training step then runs on the same
   * buffers every step, which is what lets the engine reuse its bind groups (with last-freed-first, the buffers of a
   * ProbeX step rotated from step to step and 90 of its 121 dispatches made a new bind group each step). */
  private takeFree(size: number): GPUBuffer | undefined {
    const list = this.free.get(size);
    if (!list?.length) return undefined;
    let at = 0;
    for (let i = 1; i < list.length; i++) if (this.born.get(list[i])! < this.born.get(list[at])!) at = i;
    const buffer = list[at];
    list[at] = list[list.length - 1];
    list.pop();
    this.released.delete(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.stats.bytesInUse -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.released.add(buffer);
    this.stats.buffersFree++;
    // Over the limit, the buffers freed longest ago go first (they are the likeliest to be left over from an earlier
    // phase, such as a dataset's setup), never the one just freed: a training loop's temporaries stay pooled. Destroying
    // the buffer being released instead, as this pool once did, made a ProbeX expert create 56 buffers a step after a
    // setup had left 760 MB of free buffers behind.
    const limit = Math.max(this.keepFreeBytes, this.peakInUse);
    for (const old of this.released) {
      if (this.stats.bytesAllocated - this.stats.bytesInUse <= limit || old === buffer) break;
      this.released.delete(old);
      const from = this.free.get(old.size)!;
      from.splice(from.indexOf(old), 1);
      this.stats.buffersFree--;
      this.stats.bytesAllocated -= old.size;
      // Recorded but unsubmitted commands may still use it: destroy only after the next submit.
      this.doomed.push(old);
    }
  }

  /** Called by the engine after each submit: buffers let go of earlier can now be destroyed. */
  afterSubmit(): void {
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
  }

  /** Destroy every free buffer (buffers held by tensors are untouched). Call with no unsubmitted work. */
  trim(): void {
    this.afterSubmit();
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.bytesAllocated -= b.size;
        b.destroy();
      }
    }
    this.free.clear();
    this.released.clear();
    this.stats.buffersFree = 0;
  }

  get counters(): PoolStats {
    return { ...this.stats };
  }
}
