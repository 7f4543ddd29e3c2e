/**
 * A line-protocol chat server: every line a client sends is broadcast to the others through per-client Queues.
 * Run: npx tsx examples/chat-server.ts   → prints the transcript of three scripted clients (alice, bob,
 * carol) joining, talking, asking who is here and leaving, then the server's counts after it stops.
 *
 * The protocol: a client first sends `NICK <name>` and is welcomed, then sends any line,
 * which the others receive as `<name>: <line>`; `/who` answers with the names present;
 * hanging up leaves the room.
 *
 * Each connection has two tasks, one per direction, as a socket wants: the handler reads
 * the client's lines, and a writer task takes the lines meant for this client from its
 * own Queue (its outbox) and writes them. Broadcasting is a `putNowait` into the other
 * clients' outboxes: a client that reads slowly holds up only its own writer task, never
 * the sender nor the other clients. Killing the writer when the client leaves ends it
 * wherever it waits.
 *
 * The clients are scripted in one task that acts, then reads what each other client
 * received before the next step: so the transcript is the same on every run.
 */
import { Queue, run, spawn, type GreenletBody } from 'greenlet-ts';
import { StreamServer, connect, type Socket } from 'greenlet-ts/io';

// --- the server --------------------------------------------------------------------------------

/** The outbox of every client in the room, by name, in the order they joined. */
const room = new Map<string, Queue<string>>();

function broadcast(from: string, line: string): void {
  for (const [name, outbox] of room) if (name !== from) outbox.putNowait(line);
}

function* chat(socket: Socket): GreenletBody<void> {
  const hello = yield* socket.readLine({ maxLength: 100 });
  const name = hello?.startsWith('NICK ') ? hello.slice('NICK '.length).trim() : '';
  if (name === '' || room.has(name)) {
    yield* socket.write('* say NICK <name> first, with a name nobody uses\n');
    return;
  }
  const outbox = new Queue<string>();
  const writer = spawn(function* () {
    for (;;) yield* socket.write(`${yield* outbox.get()}\n`);
  });
  const present = [...room.keys()];
  outbox.putNowait(`* welcome ${name}; ${present.length === 0 ? 'nobody else is here' : `here: ${present.join(', ')}`}`);
  broadcast(name, `* ${name} joined`);
  room.set(name, outbox);
  try {
    for (let line; (line = yield* socket.readLine({ maxLength: 1000 })) !== null; ) {
      if (line === '/who') outbox.putNowait(`* here: ${[...room.keys()].join(', ')}`);
      else broadcast(name, `${name}: ${line}`);
    }
  } finally {
    room.delete(name);
    broadcast(name, `* ${name} left`);
    yield* writer.kill();
  }
}

// --- three scripted clients -----------------------------------------------------------------------

const server = new StreamServer(chat, { idleTimeout: 10_000 });

await run(function* () {
  yield* server.start();
  const sockets = new Map<string, Socket>();

  /** Print what every other client now receives, one line each. */
  function* othersReceive(except: string): GreenletBody<void> {
    for (const [name, socket] of sockets) {
      if (name !== except) console.log(`    ${name.padEnd(5)} <- ${yield* socket.readLine()}`);
    }
  }

  function* join(name: string): GreenletBody<void> {
    console.log(`${name} joins`);
    const socket = yield* connect(server.address.port);
    yield* socket.write(`NICK ${name}\n`);
    console.log(`    ${name.padEnd(5)} <- ${yield* socket.readLine()}`); // in the room once welcomed
    yield* othersReceive(name);
    sockets.set(name, socket);
  }

  function* say(name: string, line: string): GreenletBody<void> {
    console.log(`${name.padEnd(5)} -> ${line}`);
    yield* (sockets.get(name) as Socket).write(`${line}\n`);
    yield* othersReceive(name);
  }

  function* who(name: string): GreenletBody<void> {
    const socket = sockets.get(name) as Socket;
    console.log(`${name.padEnd(5)} -> /who`);
    yield* socket.write('/who\n');
    console.log(`    ${name.padEnd(5)} <- ${yield* socket.readLine()}`);
  }

  function* leave(name: string): GreenletBody<void> {
    console.log(`${name} leaves`);
    (sockets.get(name) as Socket).close();
    sockets.delete(name);
    yield* othersReceive(name);
  }

  yield* join('alice');
  yield* join('bob');
  yield* say('alice', 'hi bob!');
  yield* join('carol');
  yield* say('bob', 'hello both of you');
  yield* who('carol');
  yield* say('carol', 'I cannot stay long');
  yield* leave('carol');
  yield* say('alice', 'bye carol');
  yield* leave('bob');
  yield* who('alice');
  yield* leave('alice');

  yield* server.stop(1000);
  console.log(`server stopped: ${server.accepted} connections served, ${server.connections} open, ${room.size} in the room`);
});
