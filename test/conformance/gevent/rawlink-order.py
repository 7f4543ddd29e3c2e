# gevent's side of rawlink-order.test.ts: for each object with rawlink() (Event,
# AsyncResult, Semaphore, BoundedSemaphore, Greenlet), a callback registered twice, one
# registered twice and unlinked once, and a callback registering another while the
# callbacks are being called, with a second object notified right after the first. One
# JSON line per kind: what the callbacks logged, in order, and linkcount() where it exists.
import json

import gevent
from gevent.event import AsyncResult, Event
from gevent.lock import BoundedSemaphore, Semaphore


def make(kind):
    """An object of the kind, and a function that makes it ready (notifies its links)."""
    if kind == 'Event':
        o = Event()
        return o, o.set
    if kind == 'AsyncResult':
        o = AsyncResult()
        return o, lambda: o.set(1)
    if kind == 'Semaphore':
        o = Semaphore(0)
        return o, o.release
    if kind == 'BoundedSemaphore':
        o = BoundedSemaphore(1)
        o.acquire()
        return o, o.release
    # A greenlet's links fire when it ends: it ends at the switch below.
    o = gevent.spawn(lambda: None)
    return o, lambda: None


def count(o):
    return o.linkcount() if hasattr(o, 'linkcount') else None


def scenario(kind):
    out = {'kind': kind}
    log = []

    def a(_):
        log.append('a')

    def b(_):
        log.append('b')

    o, ready = make(kind)
    o.rawlink(a)
    o.rawlink(a)
    out['linkcountTwice'] = count(o)
    ready()
    gevent.sleep(0)
    gevent.sleep(0)
    out['twice'] = log[:]

    del log[:]
    o, ready = make(kind)
    o.rawlink(a)
    o.rawlink(b)
    o.rawlink(a)
    o.unlink(a)
    out['linkcountAfterUnlink'] = count(o)
    ready()
    gevent.sleep(0)
    gevent.sleep(0)
    out['abaUnlinkA'] = log[:]

    del log[:]
    o, ready = make(kind)
    other, other_ready = make(kind)

    def late(_):
        log.append('late')

    def first(_):
        log.append('first')
        o.rawlink(late)

    o.rawlink(first)
    o.rawlink(lambda _: log.append('second'))
    other.rawlink(lambda _: log.append('other object'))
    ready()
    other_ready()
    for _ in range(4):
        gevent.sleep(0)
    out['registersDuringNotification'] = log[:]
    for seq in ('aab', 'abac'):
        del log[:]
        o, ready = make(kind)
        calls = {k: (lambda k: lambda _: log.append(k))(k) for k in 'abc'}
        for k in seq:
            o.rawlink(calls[k])
        ready()
        for _ in range(5):
            gevent.sleep(0)
        out[seq] = log[:]
    print(json.dumps(out), flush=True)


for kind in ('Event', 'AsyncResult', 'Semaphore', 'BoundedSemaphore', 'Task'):
    scenario(kind)
