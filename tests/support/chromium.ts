// Debian's headless chromium with WebGPU, driven by playwright-core, for the tests that run the engine in a browser.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_MISSING = `${CHROMIUM} is missing: the browser tests need Debian's chromium; run \`bash .ci/setup-system\``;

// Playwright refuses --user-data-dir in args; a fresh profile dir is passed to launchPersistentContext instead.
// --enable-unsafe-webgpu is the one flag WebGPU needs here (without it: "No available adapters"); Chromium then
// falls back to its bundled SwiftShader Vulkan adapter on a GPU-less machine. The rest keep the run offline.
const CHROMIUM_ARGS = [
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Chromium {
  page: Page;
  /** Uncaught page errors and console errors, in order. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** A fresh profile and one page; null when chromium is not installed (the test then fails with CHROMIUM_MISSING). */
export async function launchChromium(): Promise<Chromium | null> {
  if (!existsSync(CHROMIUM)) return null;
  const profileDir = mkdtempSync(join(tmpdir(), 'probex-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (e) {
    rmSync(profileDir, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  return {
    page,
    pageErrors,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
