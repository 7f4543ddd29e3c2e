/**
 * A protocol parser written as a coroutine: it reads top to bottom and switches out whenever it needs more input.
 * Run: npx tsx examples/state-machine.ts   → prints each chunk fed to the parser and the messages it completed,
 * then what happens when the input is not valid.
 *
 * The protocol is a small subset of RESP, the Redis wire protocol: `+OK\r\n` (a simple
 * string), `-ERR message\r\n` (an error reply), `:42\r\n` (an integer), `$5\r\nhello\r\n`
 * (a length-prefixed bulk string; `$-1\r\n` is null) and `*2\r\n…` (an array of any of
 * these, nested as deep as the sender likes). The network delivers it in chunks that can
 * cut a message anywhere: in the middle of a number, or between `\r` and `\n`.
 *
 * Written for callbacks ("here is a chunk, parse what you can"), this parser would be an
 * explicit state machine: an enum of states (reading a type line, reading a bulk payload,
 * expecting its CRLF), a count of payload bytes still missing, and a hand-made stack of
 * half-filled arrays with how many items each still needs. As a greenlet it is plain
 * recursive-descent code: the state is the line where it is suspended, the stack of
 * arrays is its own call stack, and every point where input can run out is one line,
 * `yield* needMoreInput()`.
 *
 * For brevity it parses strings; the data here is ASCII, so one character is one byte.
 */
import { call, getcurrent, Greenlet, type GreenletBody } from 'greenlet-ts';

/** An error reply sent by the server (`-ERR …`): a value to hand on, not an exception of ours. */
class RespError {
  constructor(readonly message: string) {}
}

type RespValue = string | number | null | RespError | RespValue[];

/** The input is not RESP. Thrown inside the parser, it surfaces in the feeder's `switch()`. */
class ProtocolError extends Error {
  static {
    this.prototype.name = 'ProtocolError';
  }
}

/**
 * Create a parser greenlet. Switch each received chunk to it: `parser.switch(chunk)`
 * returns the messages that chunk completed (none, one or several).
 */
function createParser(): Greenlet<[firstChunk: string], never> {
  /** Received and not consumed yet. */
  let unread = '';
  /** Messages completed since the feeder last switched a chunk to us. */
  let completed: RespValue[] = [];

  /** Hand the feeder what we completed, and wait until it switches the next chunk to us. */
  function* needMoreInput(): GreenletBody<void> {
    const finished = completed;
    completed = [];
    // Our parent is the greenlet that created us: the feeder. Its `parser.switch(chunk)`
    // returns `finished`; its next one resumes us right here with the next chunk.
    const chunk = yield* getcurrent().parent!.switch<string>(finished);
    unread += chunk;
  }

  /** The next line, without its CRLF. */
  function* readLine(): GreenletBody<string> {
    let end: number;
    while ((end = unread.indexOf('\r\n')) === -1) yield* needMoreInput();
    const line = unread.slice(0, end);
    unread = unread.slice(end + 2);
    return line;
  }

  function* readExactly(length: number): GreenletBody<string> {
    while (unread.length < length) yield* needMoreInput();
    const data = unread.slice(0, length);
    unread = unread.slice(length);
    return data;
  }

  function* readValue(): GreenletBody<RespValue> {
    const line = yield* readLine();
    const type = line.charAt(0);
    const rest = line.slice(1);
    switch (type) {
      case '+':
        return rest;
      case '-':
        return new RespError(rest);
      case ':':
        return parseInteger(rest);
      case '$': {
        const length = parseInteger(rest);
        if (length === -1) return null;
        const data = yield* readExactly(length);
        const terminator = yield* readExactly(2);
        if (terminator !== '\r\n') throw new ProtocolError(`bulk string longer than its declared length ${length}`);
        return data;
      }
      case '*': {
        const count = parseInteger(rest);
        const items: RespValue[] = [];
        // call() instead of `yield*`: the sender decides how deep arrays nest, and the
        // switcher keeps call() frames itself, so a switch costs the same at any depth.
        while (items.length < count) items.push(yield* call(readValue));
        return items;
      }
      default:
        throw new ProtocolError(`unknown type ${JSON.stringify(type)} in line ${JSON.stringify(line)}`);
    }
  }

  return new Greenlet(function* (firstChunk: string): GreenletBody<never> {
    unread = firstChunk;
    for (;;) {
      // Not `completed.push(yield* readValue())`: that reads `completed` before the parser
      // suspends, and needMoreInput() hands that array to the feeder and starts a new one.
      const message = yield* readValue();
      completed.push(message);
    }
  });
}

function parseInteger(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new ProtocolError(`expected an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** A value for printing: strings quoted, arrays in brackets, error replies as redis-cli shows them. */
function show(value: RespValue): string {
  if (value instanceof RespError) return `(error) ${value.message}`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return JSON.stringify(value);
}

// What a client might receive after sending a few commands, cut where a network might
// cut it: mid-line, mid-number, mid-payload and between "\r" and "\n".
const received = [
  '+OK\r\n:10',
  '00\r\n$5\r\nhel',
  'lo\r\n*3\r\n$3\r\nSE',
  'T\r\n$3\r\nkey\r\n*2\r\n:4',
  '2\r',
  "\n$-1\r\n-ERR unknown command 'FOO'\r\n",
];

const parser = createParser();
const width = Math.max(...received.map((chunk) => JSON.stringify(chunk).length));
for (const chunk of received) {
  const messages = parser.switch<RespValue[]>(chunk);
  const parsed = messages.length === 0 ? '(needs more input)' : messages.map(show).join(', ');
  console.log(`${JSON.stringify(chunk).padEnd(width)}  →  ${parsed}`);
}

// Input that is not RESP ends the parser, and its error is raised in the feeder, at the
// switch() that delivered the bad chunk.
const garbage = '?what\r\n';
try {
  parser.switch(garbage);
} catch (error) {
  console.log(`${JSON.stringify(garbage).padEnd(width)}  →  ${String(error)}`);
}
console.log(`parser dead: ${parser.dead}`);
