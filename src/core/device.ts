// Acquiring a WebGPU adapter and device from any `GPU` object (navigator.gpu in a browser, dawn.node's in Node), with
// the limits and optional features the engine uses, and a plain description of what was found.

export interface DeviceInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, llvmpipe, SwiftShader): fine for tests, never for speed claims. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: DeviceInfo;
}

export const NO_ADAPTER_HELP =
  'No WebGPU adapter found. In a browser, enable WebGPU (Chrome/Edge 113+, or --enable-unsafe-webgpu). ' +
  'In Node on a machine without a GPU, install Mesa 25 lavapipe: on Debian 12 add the bookworm-backports suite and run ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers` (Mesa 22 from the main archive is refused by Dawn); ' +
  '`bash .ci/setup-system` does both.';

const WANTED_FEATURES: GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];
const WANTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;
const REPORTED_LIMITS = [
  ...WANTED_LIMITS,
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'minUniformBufferOffsetAlignment',
  'minStorageBufferOffsetAlignment',
] as const;

const SOFTWARE_PATTERN = /lavapipe|llvmpipe|swiftshader|software|cpu/i;

export function describeAdapter(adapter: GPUAdapter): DeviceInfo {
  const a = adapter.info;
  const fields = [a.vendor, a.architecture, a.device, a.description].join(' ');
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) limits[name] = adapter.limits[name];
  const sub = a as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return {
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    // Browsers may leave description and device empty; fall back to what they do say.
    description: a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' '),
    isSoftware: SOFTWARE_PATTERN.test(fields) || (a as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    features: [...adapter.features].map(String).sort(),
    limits,
    subgroupMinSize: sub.subgroupMinSize,
    subgroupMaxSize: sub.subgroupMaxSize,
  };
}

/** Request an adapter and a device with the adapter's full limits for what the engine uses. */
export async function acquireDevice(gpu: GPU | undefined, powerPreference: GPUPowerPreference = 'high-performance'): Promise<AcquiredDevice> {
  if (!gpu) throw new Error(NO_ADAPTER_HELP);
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  return { adapter, device, info: describeAdapter(adapter) };
}
