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
  private stats: PoolStats = { bytesAllocated: 0, bytesInUse: 0, buffersCreated: 0, buffersFree: 0 };

  constructor(
    private device: GPUDevice,
    private maxBindingBytes: number,
    /** Free buffers beyond this many bytes, or beyond the most bytes ever in use if that is more, are destroyed
     * rather than kept. The peak matters on a GPU: a step of 250 wide models frees gigabytes of gradient temporaries
     * that the next step asks for again, and re-creating (and zeroing) them every step costs more than keeping them. */
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
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.stats.buffersFree--;
    } else {
      buffer = this.device.createBuffer({ size, usage: storageUsage() });
      this.stats.bytesAllocated += size;
      this.stats.buffersCreated++;
    }
    this.stats.bytesInUse += size;
    this.peakInUse = Math.max(this.peakInUse, this.stats.bytesInUse);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.stats.bytesInUse -= size;
    const freeBytes = this.stats.bytesAllocated - this.stats.bytesInUse;
    if (freeBytes > Math.max(this.keepFreeBytes, this.peakInUse)) {
      // Recorded but unsubmitted commands may still use it: destroy only after the next submit.
      this.doomed.push(buffer);
      this.stats.bytesAllocated -= size;
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.stats.buffersFree++;
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
    this.stats.buffersFree = 0;
  }

  get counters(): PoolStats {
    return { ...this.stats };
  }
}
