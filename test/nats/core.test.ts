/**
 * nats: request/reply, services, subscriptions, queue groups, select, back-pressure and
 * misuse, against a real nats-server (started for this file on a free loopback port).
 * Every test checks that no timer, task or hub report is left behind.
 */
import { describe, expect, it } from 'vitest';
import {
  Channel,
  ChannelTimeout,
  Event,
  Timeout,
  recvCase,
  run,
  select,
  sleep,
  spawn,
  waitFor,
  type GreenletBody,
} from 'greenlet-ts';
import {
  ConnectionClosed,
  MalformedPayload,
  NatsServiceError,
  NatsTimeout,
  NoResponders,
  ServiceError,
  SlowConsumer,
  connect,
  type NatsConnection,
} from 'greenlet-ts/nats';
import { expectCleanHub, useNatsServer, withConnectionTo } from './nats-test-server.js';

const server = useNatsServer({ jetstream: false });
const reports = expectCleanHub();

/** Run `body` in a task with a fresh connection, closed at the end. */
const withConnection = <T>(body: (nc: NatsConnection) => GreenletBody<T>): Promise<T> => withConnectionTo(server, body);

describe('request/reply', () => {
  it('answers a request with what the service handler returns', async () => {
    const reply = await withConnection(function* (nc) {
      const service = yield* nc.serve('math.double', function* (msg) {
        return { result: msg.json<{ x: number }>().x * 2 };
      });
      const answer = yield* nc.request('math.double', { x: 21 }, { timeout: 2000 });
      yield* service.stop();
      return answer.json();
    });
    expect(reply).toEqual({ result: 42 });
  });

  it('serves each request in its own task: a slow request does not hold up another', async () => {
    const order = await withConnection(function* (nc) {
      const order: string[] = [];
      const release = new Event();
      const service = yield* nc.serve('work', function* (msg) {
        const what = msg.string();
        if (what === 'slow') yield* release.wait();
        order.push(`served ${what}`);
        return what;
      });
      const slow = spawn(function* () {
        return (yield* nc.request('work', 'slow', { timeout: 5000 })).string();
      });
      yield* sleep(0);
      const fast = (yield* nc.request('work', 'fast', { timeout: 5000 })).string();
      order.push(`got ${fast}, ${service.inFlight} in flight`);
      release.set();
      order.push(`got ${yield* slow.get()}`);
      yield* service.stop();
      return order;
    });
    expect(order).toEqual(['served fast', 'got fast, 1 in flight', 'served slow', 'got slow']);
  });

  it('raises a NatsTimeout (a Timeout) naming the subject when no reply comes in time, and forgets the request', async () => {
    const result = await withConnection(function* (nc) {
      const silent = nc.subscribe('silent'); // a subscriber that never answers
      yield* nc.flush();
      const started = performance.now();
      let error: unknown;
      try {
        yield* nc.request('silent', 'hello?', { timeout: 100 });
      } catch (e) {
        error = e;
      }
      const waited = performance.now() - started;
      silent.close();
      return { error, waited, pending: nc.pendingRequests, received: silent.length };
    });
    expect(result.error).toBeInstanceOf(NatsTimeout);
    expect(result.error).toBeInstanceOf(Timeout);
    expect((result.error as NatsTimeout).subject).toBe('silent');
    expect((result.error as Error).message).toBe('request to silent got no reply in 100 ms');
    expect(result.waited).toBeGreaterThanOrEqual(95);
    expect(result.pending).toBe(0);
    expect(result.received).toBe(1);
  });

  it('raises NoResponders at once when nothing listens on the subject', async () => {
    const result = await withConnection(function* (nc) {
      const started = performance.now();
      try {
        yield* nc.request('nobody.home', 'hi', { timeout: 5000 });
        return { error: null, waited: 0 };
      } catch (error) {
        return { error, waited: performance.now() - started };
      }
    });
    expect(result.error).toBeInstanceOf(NoResponders);
    expect((result.error as Error).message).toMatch(/^no responders for nobody\.home: nothing subscribes to it/);
    expect(result.waited).toBeLessThan(2500);
  });

  it('a killed requester leaves nothing registered, and the late reply is dropped', async () => {
    const result = await withConnection(function* (nc) {
      const arrived = new Event();
      const release = new Event();
      const service = yield* nc.serve('late', function* () {
        arrived.set();
        yield* release.wait();
        return 'too late';
      });
      const requester = spawn(function* () {
        return yield* nc.request('late', '', { timeout: 5000 });
      });
      yield* arrived.wait();
      const pendingBefore = nc.pendingRequests;
      yield* requester.kill();
      const pendingAfter = nc.pendingRequests;
      release.set();
      yield* service.stop();
      yield* nc.flush(); // the reply has come and gone
      return { pendingBefore, pendingAfter, dead: requester.dead, value: requester.value };
    });
    expect(result).toMatchObject({ pendingBefore: 1, pendingAfter: 0, dead: true });
    expect(result.value).toBeInstanceOf(Error); // the GreenletExit it was killed with
  });

  it("turns a handler's error into a NatsServiceError in the requester (500, reported by the service)", async () => {
    const error = await withConnection(function* (nc) {
      const service = yield* nc.serve('broken', () => {
        throw new RangeError('x must be positive');
      });
      try {
        yield* nc.request('broken', '-1', { timeout: 2000 });
        return null;
      } catch (e) {
        return e;
      } finally {
        yield* service.stop();
      }
    });
    expect(error).toBeInstanceOf(NatsServiceError);
    expect((error as NatsServiceError).code).toBe(500);
    expect((error as Error).message).toBe('the service at broken failed: 500 RangeError: x must be positive');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'callback-error', where: 'NatsService(broken, 1 in flight) handling a request on broken' });
    reports.length = 0;
  });

  it('answers with the code of a ServiceError the handler throws, unreported', async () => {
    const error = await withConnection(function* (nc) {
      const service = yield* nc.serve('strict', (msg) => {
        if (msg.string() === '') throw new ServiceError(400, 'send a name');
        return `hello ${msg.string()}`;
      });
      try {
        const ok = (yield* nc.request('strict', 'ann')).string();
        expect(ok).toBe('hello ann');
        yield* nc.request('strict', '');
        return null;
      } catch (e) {
        return e;
      } finally {
        yield* service.stop();
      }
    });
    expect(error).toBeInstanceOf(NatsServiceError);
    expect((error as NatsServiceError).code).toBe(400);
    expect((error as NatsServiceError).description).toBe('send a name');
  });

  it('stop() lets requests in flight finish within the grace period, then kills them with a 503 answer', async () => {
    const results = await withConnection(function* (nc) {
      const service = yield* nc.serve('stuck', function* (msg) {
        if (msg.string() === 'forever') yield* new Event().wait();
        else yield* sleep(20);
        return 'done';
      });
      const quick = spawn(function* () {
        return (yield* nc.request('stuck', 'quick')).string();
      });
      const forever = spawn(function* () {
        try {
          yield* nc.request('stuck', 'forever');
          return 'answered';
        } catch (e) {
          return e;
        }
      });
      while (service.inFlight < 2) yield* sleep(5);
      yield* service.stop(100);
      return { quick: yield* quick.get(), forever: yield* forever.get(), inFlight: service.inFlight, stopped: service.stopped };
    });
    expect(results.quick).toBe('done');
    expect(results.forever).toBeInstanceOf(NatsServiceError);
    expect((results.forever as NatsServiceError).code).toBe(503);
    expect(results).toMatchObject({ inFlight: 0, stopped: true });
  });
});

describe('subscriptions', () => {
  it('receives with recv(), with a timeout that raises ChannelTimeout', async () => {
    const result = await withConnection(function* (nc) {
      const sub = nc.subscribe('greetings');
      yield* nc.flush();
      yield* nc.publish('greetings', 'hello');
      const first = yield* sub.recv(2000);
      let timeout: unknown = null;
      try {
        yield* sub.recv(50);
      } catch (e) {
        timeout = e;
      }
      sub.close();
      return { first: first?.string(), subject: first?.subject, timeout };
    });
    expect(result).toMatchObject({ first: 'hello', subject: 'greetings' });
    expect(result.timeout).toBeInstanceOf(ChannelTimeout);
  });

  it('iterates until unsubscribed, receiving what was buffered first', async () => {
    const received = await withConnection(function* (nc) {
      const sub = nc.subscribe('count.*');
      yield* nc.flush();
      for (let i = 1; i <= 5; i++) yield* nc.publish(`count.${i}`, String(i));
      yield* nc.flush();
      sub.unsubscribe();
      const received: string[] = [];
      for (const it = sub.iterate(); yield* it.next(); ) received.push(`${it.value.subject}=${it.value.string()}`);
      return received;
    });
    expect(received).toEqual(['count.1=1', 'count.2=2', 'count.3=3', 'count.4=4', 'count.5=5']);
  });

  it('a task killed in the middle of recv() loses nothing: the next message goes to the next receiver', async () => {
    const result = await withConnection(function* (nc) {
      const sub = nc.subscribe('handoff');
      yield* nc.flush();
      const victim = spawn(function* () {
        return yield* sub.recv();
      });
      yield* sleep(0);
      const waitingBefore = sub.recvWaiting;
      yield* victim.kill();
      const waitingAfter = sub.recvWaiting;
      yield* nc.publish('handoff', 'precious');
      const got = yield* sub.recv(2000);
      sub.close();
      return { waitingBefore, waitingAfter, got: got?.string() };
    });
    expect(result).toEqual({ waitingBefore: 1, waitingAfter: 0, got: 'precious' });
  });

  it('select waits on a NATS subscription and a local channel alike', async () => {
    const fired = await withConnection(function* (nc) {
      const sub = nc.subscribe('events');
      const local = new Channel<string>();
      yield* nc.flush();
      const fired: string[] = [];
      spawn(function* () {
        yield* local.send('local first');
      });
      for (let round = 0; round < 2; round++) {
        const r = yield* select([recvCase(sub), recvCase(local)], { timeout: 2000 });
        if (r.index === 0) fired.push(`nats: ${r.value?.string()}`);
        else if (r.index === 1) fired.push(`channel: ${r.value}`);
        else fired.push('timeout');
        if (round === 0) yield* nc.publish('events', 'from nats');
      }
      const none = yield* select([recvCase(sub), recvCase(local)], { timeout: 20 });
      fired.push(none.index === -1 ? 'timeout' : 'unexpected');
      sub.close();
      return { fired, waiting: sub.recvWaiting + local.recvWaiting };
    });
    expect(fired).toEqual({ fired: ['channel: local first', 'nats: from nats', 'timeout'], waiting: 0 });
  });

  it('a queue group shares the messages: each goes to exactly one member, while a plain subscriber gets them all', async () => {
    const counts = await withConnection(function* (nc) {
      const members = [0, 1, 2].map(() => nc.subscribe('jobs', { queue: 'workers' }));
      const audit = nc.subscribe('jobs');
      yield* nc.flush();
      for (let i = 0; i < 60; i++) yield* nc.publish('jobs', String(i));
      yield* nc.flush();
      const seen: string[] = [];
      const perMember = members.map((m) => {
        let n = 0;
        for (let r = m.tryRecv(); r[1]; r = m.tryRecv()) {
          seen.push(r[0].string());
          n++;
        }
        m.close();
        return n;
      });
      const audited = audit.length;
      audit.close();
      return { perMember, unique: new Set(seen).size, total: seen.length, audited };
    });
    expect(counts.total).toBe(60);
    expect(counts.unique).toBe(60);
    expect(counts.audited).toBe(60);
    expect(counts.perMember.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('services in a queue group share the requests', async () => {
    const servedBy = await withConnection(function* (nc) {
      const a = yield* nc.serve('who', () => 'a', { queue: 'who' });
      const b = yield* nc.serve('who', () => 'b', { queue: 'who' });
      const answers: string[] = [];
      for (let i = 0; i < 40; i++) answers.push((yield* nc.request('who', '')).string());
      yield* a.stop();
      yield* b.stop();
      return { answers: answers.length, a: a.served, b: b.served };
    });
    expect(servedBy.answers).toBe(40);
    expect(servedBy.a + servedBy.b).toBe(40);
    expect(servedBy.a).toBeGreaterThan(0);
    expect(servedBy.b).toBeGreaterThan(0);
  });

  it('drops what a slow consumer cannot buffer, counts it, and reports a SlowConsumer naming the subject', async () => {
    const result = await withConnection(function* (nc) {
      const sub = nc.subscribe('firehose', { capacity: 10 });
      yield* nc.flush();
      for (let i = 0; i < 100; i++) yield* nc.publish('firehose', String(i));
      yield* nc.flush();
      const buffered = sub.length;
      const first = (yield* sub.recv())?.string();
      sub.close();
      return { buffered, dropped: sub.dropped, first };
    });
    expect(result).toEqual({ buffered: 10, dropped: 90, first: '0' });
    expect(reports).toHaveLength(1);
    const error = (reports[0] as { error: unknown }).error;
    expect(error).toBeInstanceOf(SlowConsumer);
    expect((error as Error).message).toMatch(/^slow consumer on firehose: its buffer of 10 messages is full, so messages are dropped \(1 so far; `sub.dropped` counts them\)/);
    reports.length = 0;
  });

  it('raises MalformedPayload naming the subject when a payload is not JSON', async () => {
    const error = await withConnection(function* (nc) {
      const sub = nc.subscribe('orders.new');
      yield* nc.flush();
      yield* nc.publish('orders.new', '{"id": 1,');
      const msg = yield* sub.recv(2000);
      sub.close();
      try {
        msg?.json();
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(MalformedPayload);
    expect((error as MalformedPayload).subject).toBe('orders.new');
    expect((error as Error).message).toMatch(/^a message on orders\.new is not JSON \(9 bytes: "\{\\"id\\": 1,"\)/);
  });

  it('refuses to send on a subscription, saying how to publish', async () => {
    const error = await withConnection(function* (nc) {
      const sub = nc.subscribe('orders');
      try {
        sub.trySend(undefined as never);
        return null;
      } catch (e) {
        return e;
      } finally {
        sub.close();
      }
    });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("trySend() on Subscription(orders): a subscription is a receive end. Publish with `yield* nc.publish('orders', data)`");
  });
  it('refuses a handler that is not a function where serve() is called, before anything is subscribed', async () => {
    const error = await withConnection(function* (nc) {
      try {
        nc.serve('math.double', 'double it' as never);
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("nc.serve('math.double', handler) takes a handler function (msg) => reply, not string");
  });

});

describe('publishing', () => {
  it('parks a publisher while the server confirms nothing, and lets it go on when the server does', async () => {
    const result = await run(function* () {
      const nc = yield* connect({ servers: server().url, maxPendingBytes: 64 * 1024 });
      const reader = yield* connect({ servers: server().url });
      try {
        const sub = reader.subscribe('bulk', { capacity: 10_000 });
        yield* reader.flush();
        const payload = 'x'.repeat(1000); // counted as 1020 bytes, with the subject and the protocol line
        let published = 0;
        const halfway = new Event();
        const publisher = spawn(function* () {
          for (let i = 0; i < 2000; i++) {
            if (i === 500) yield* halfway.wait();
            yield* nc.publish('bulk', payload);
            published++;
          }
        });
        // The first 500 (seven windows) go through while the server confirms them.
        while (halfway.waiting === 0) yield* sleep(1);
        yield* nc.flush(); // all confirmed: no PING is left for the server to answer
        const unconfirmedBefore = nc.unconfirmedBytes;
        yield* waitFor(server().freeze()); // from now on nothing is confirmed
        halfway.set();
        while (nc.blockedPublishers === 0) yield* sleep(1);
        const parkedAfter = published - 500;
        const unconfirmedWhileParked = nc.unconfirmedBytes;
        yield* sleep(50);
        const stillParked = published - 500 === parkedAfter && nc.blockedPublishers === 1;
        server().thaw();
        yield* publisher.join();
        yield* nc.flush();
        yield* reader.flush();
        const received = sub.length;
        sub.close();
        return { unconfirmedBefore, parkedAfter, unconfirmedWhileParked, stillParked, published, received, blocked: nc.blockedPublishers };
      } finally {
        server().thaw();
        yield* nc.close();
        yield* reader.close();
      }
    });
    // It publishes until 64 KiB are unconfirmed (65 messages of 1020 bytes), then waits.
    expect(result).toMatchObject({ unconfirmedBefore: 0, parkedAfter: 65, unconfirmedWhileParked: 65 * 1020, stillParked: true });
    expect(result).toMatchObject({ published: 2000, received: 2000, blocked: 0 });
  });

  it('a killed publisher leaves the queue of parked publishers', async () => {
    const result = await run(function* () {
      const nc = yield* connect({ servers: server().url, maxPendingBytes: 16 * 1024 });
      try {
        yield* waitFor(server().freeze());
        const publisher = spawn(function* () {
          for (;;) yield* nc.publish('nowhere', 'y'.repeat(1000));
        });
        while (nc.blockedPublishers === 0) yield* sleep(5);
        yield* publisher.kill();
        return { blocked: nc.blockedPublishers, dead: publisher.dead };
      } finally {
        server().thaw();
        yield* nc.close();
      }
    });
    expect(result).toEqual({ blocked: 0, dead: true });
  });

  it('raises ConnectionClosed when publishing on a closed connection', async () => {
    const error = await run(function* () {
      const nc = yield* connect({ servers: server().url });
      yield* nc.close();
      try {
        yield* nc.publish('anything', 'x');
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(ConnectionClosed);
    expect((error as Error).message).toBe('NatsConnection(closed) cannot send on anything: it is closed. Connect again (connect())');
  });
});

describe('the connection', () => {
  it('drain() delivers what subscriptions received, ends them, and closes', async () => {
    const result = await run(function* () {
      const nc = yield* connect({ servers: server().url });
      const sub = nc.subscribe('last.words');
      yield* nc.flush();
      yield* nc.publish('last.words', 'goodbye');
      yield* nc.drain();
      const received: string[] = [];
      for (const it = sub.iterate(); yield* it.next(); ) received.push(it.value.string());
      return { received, state: nc.state };
    });
    expect(result).toEqual({ received: ['goodbye'], state: 'closed' });
  });

  it('wakes a waiting request with ConnectionClosed when the connection closes under it', async () => {
    const error = await run(function* () {
      const nc = yield* connect({ servers: server().url });
      const silent = nc.subscribe('void');
      yield* nc.flush();
      const requester = spawn(function* () {
        try {
          yield* nc.request('void', '', { timeout: 5000 });
          return null;
        } catch (e) {
          return e;
        }
      });
      yield* sleep(20);
      yield* nc.close();
      silent.close();
      return yield* requester.get();
    });
    expect(error).toBeInstanceOf(ConnectionClosed);
  });

  it('a task killed while it drains closes the connection, without waiting for the server', async () => {
    const result = await run(function* () {
      const nc = yield* connect({ servers: server().url });
      const sub = nc.subscribe('draining');
      yield* nc.flush();
      yield* waitFor(server().freeze()); // the drain cannot finish while the server is frozen
      try {
        const drainer = spawn(function* () {
          yield* nc.drain();
        });
        yield* sleep(20);
        const stateWhileDraining = nc.state;
        yield* drainer.kill();
        // Closing needs no answer from the (frozen) server.
        for (let i = 0; i < 200 && !nc.client.isClosed(); i++) yield* sleep(10);
        return { stateWhileDraining, closed: nc.client.isClosed(), subscriptionEnded: sub.closed };
      } finally {
        server().thaw();
        yield* nc.close();
      }
    });
    expect(result).toEqual({ stateWhileDraining: 'draining', closed: true, subscriptionEnded: true });
  });

  it('a task killed while it connects leaves no connection behind', async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const result = await run(function* () {
      const before = sockets();
      yield* waitFor(server().freeze()); // the server answers nothing more: the connect hangs
      try {
        const connecting = spawn(function* () {
          return yield* connect({ servers: server().url });
        });
        for (let i = 0; i < 500 && sockets() === before; i++) yield* sleep(10); // the client has opened its socket
        const duringConnect = sockets();
        yield* connecting.kill();
        server().thaw(); // now the connection comes, and is closed at once
        let after = sockets();
        for (let i = 0; i < 200 && after !== before; i++) {
          yield* sleep(10);
          after = sockets();
        }
        return { before, duringConnect, after, dead: connecting.dead };
      } finally {
        server().thaw();
      }
    });
    expect(result.duringConnect).toBe(result.before + 1);
    expect(result.after).toBe(result.before);
    expect(result.dead).toBe(true);
  });

  it('connect() raises the client error when no server listens', async () => {
    const error = await run(function* () {
      try {
        yield* connect({ servers: '127.0.0.1:1', timeout: 2000 });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/ECONNREFUSED|connection refused|CONNECTION_REFUSED/i);
  });
});
