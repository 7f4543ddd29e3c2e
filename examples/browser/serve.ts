/**
 * Serves the browser example: bundles app.ts (with greenlet-ts from this repository's
 * sources) and serves the page on http://127.0.0.1:8000/ (PORT to change it).
 * Run: npm run example:browser
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** The page's script: app.ts and greenlet-ts, bundled for the browser. */
export async function bundleApp(): Promise<string> {
  const result = await build({
    entryPoints: [here('./app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    alias: { 'greenlet-ts': here('../../src/index.ts') },
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.text;
}

/** Serve the page on `port` (0: any free port) of 127.0.0.1. */
export async function serveExample(port: number): Promise<Server> {
  const script = await bundleApp();
  const page = readFileSync(here('./index.html'), 'utf8');
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/' || path === '/index.html') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    else if (path === '/app.js') response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    else response.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8000);
  await serveExample(port);
  console.log(`greenlet-ts browser example: http://127.0.0.1:${port}/ (Ctrl-C stops it)`);
}
