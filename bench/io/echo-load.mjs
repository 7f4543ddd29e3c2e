// The echo load, in a process of its own: N connections, each sending a line and waiting
// for it to come back, for D seconds. Prints `{"roundTrips": ..., "seconds": ...}`.
// Usage: node echo-load.mjs PORT CONNECTIONS SECONDS
import net from 'node:net';

const [port, connections, seconds] = process.argv.slice(2).map(Number);
const line = 'hello, greenlets\n';
let roundTrips = 0;
const until = performance.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: connections }, () =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(line));
      socket.setNoDelay(true);
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('utf8');
        while (received.length >= line.length) {
          if (!received.startsWith(line)) return reject(new Error(`unexpected echo: ${JSON.stringify(received)}`));
          received = received.slice(line.length);
          roundTrips++;
          if (performance.now() >= until) {
            socket.end();
            return resolve();
          }
          socket.write(line);
        }
      });
      socket.on('error', reject);
    }),
  ),
);
console.log(JSON.stringify({ roundTrips, seconds }));
