// Benchmark server: line echo with greenlet-ts's StreamServer (a task per connection,
// readLine / write), from the build (dist/). Prints `listening PORT`.
import { run } from '../../dist/index.js';
import { StreamServer } from '../../dist/io/index.js';

process.stdout.on('error', () => {});
await run(function* () {
  const server = new StreamServer(function* (socket) {
    for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
  });
  yield* server.start();
  console.log(`listening ${server.address.port}`);
  process.once('SIGTERM', () => run(function* () { yield* server.stop(100); }));
  yield* server.serveForever();
});
