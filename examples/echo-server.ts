/**
 * An echo server: a StreamServer runs a task per connection; clients in tasks send lines and read them back.
 * Run: npx tsx examples/echo-server.ts   → prints what each client sent and got back, the server's
 * connection counts while the clients are connected and after a graceful stop.
 *
 * The handler is written as if it were blocking code: read a line, write it back, until
 * the client hangs up (`readLine()` evaluates to null). Each connection gets its own
 * task, so a slow client delays nobody else. The clients are tasks of the same process:
 * each connects, runs its exchange, then keeps its connection open until every client is
 * done, so that the server's count of open connections is read while all are connected.
 *
 * The server listens on 127.0.0.1 with an ephemeral port (port 0), which is why the port
 * is not printed: the output is the same on every run.
 */
import { Event, Queue, run, spawn, type GreenletBody } from 'greenlet-ts';
import { StreamServer, connect, type Socket } from 'greenlet-ts/io';

const CLIENTS = { alice: ['hello', 'how are you?'], bob: ['ping', 'ping again'], carol: ['one line only'] };

/** The whole protocol: every line comes back as it was sent. */
function* echo(socket: Socket): GreenletBody<void> {
  for (let line; (line = yield* socket.readLine()) !== null; ) {
    yield* socket.write(`${line}\n`);
  }
}

const server = new StreamServer(echo, { host: '127.0.0.1', port: 0, idleTimeout: 10_000 });

await run(function* () {
  yield* server.start();
  const done = new Queue<string>();
  const release = new Event();

  function* client(name: string, lines: string[]): GreenletBody<string[]> {
    using socket = yield* connect(server.address.port);
    const transcript: string[] = [];
    for (const line of lines) {
      yield* socket.write(`${line}\n`);
      transcript.push(`${name.padEnd(5)} sent ${JSON.stringify(line)}, got back ${JSON.stringify(yield* socket.readLine())}`);
    }
    yield* done.put(name);
    yield* release.wait(); // stay connected until every client is done
    return transcript;
  }

  const clients = Object.entries(CLIENTS).map(([name, lines]) => spawn(client, name, lines));
  for (let i = 0; i < clients.length; i++) yield* done.get();
  console.log(`while connected: ${server.connections} connections open, ${server.accepted} accepted`);
  release.set();
  for (const c of clients) for (const line of yield* c.get()) console.log(line);

  yield* server.stop(1000); // stop accepting, let the handlers see their clients leave
  console.log(`after stop: ${server.connections} connections open, ${server.accepted} accepted, closed: ${server.closed}`);
});
