// Benchmark server: hello world with greenlet-ts's HttpServer (a task per request), from
// the build (dist/), as an application would run it. Prints `listening PORT`.
import { run } from '../../dist/index.js';
import { HttpServer } from '../../dist/io/index.js';

process.stdout.on('error', () => {});
await run(function* () {
  const server = yield* new HttpServer((_request, response) => {
    response.send(200, 'hello world');
  }).start();
  console.log(`listening ${server.port}`);
  process.once('SIGTERM', () => server.close());
  yield* server.serveForever();
});
