// Benchmark baseline: line echo with a plain callback node:net server. Prints `listening PORT`.
import net from 'node:net';

process.stdout.on('error', () => {});
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = '';
  socket.on('data', (chunk) => {
    pending += chunk.toString('utf8');
    let nl;
    let out = '';
    while ((nl = pending.indexOf('\n')) !== -1) {
      out += `${pending.slice(0, nl)}\n`;
      pending = pending.slice(nl + 1);
    }
    if (out !== '') socket.write(out);
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.once('SIGTERM', () => server.close());
