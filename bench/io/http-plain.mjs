// Benchmark baseline: hello world with plain node:http. Prints `listening PORT`.
// It sends the very bytes HttpServer's `response.send(200, 'hello world')` sends (the
// same headers in the same order, Content-Length rather than chunked encoding), which
// io.http checks before it measures: left to itself, `writeHead(200, headers).end(body)`
// without a Content-Length answers in chunks, 18 bytes more and about 5,500 instructions
// more per request (docs/benchmarks-log.md).
import { createServer } from 'node:http';

process.stdout.on('error', () => {});
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '11' }).end('hello world');
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
