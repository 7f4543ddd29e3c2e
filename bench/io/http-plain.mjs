// Benchmark baseline: hello world with plain node:http. Prints `listening PORT`.
import { createServer } from 'node:http';

process.stdout.on('error', () => {});
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('hello world');
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
