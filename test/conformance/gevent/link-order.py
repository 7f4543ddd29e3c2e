# gevent's side of link-order.test.ts: a Greenlet's links (link and rawlink) added after it
# died (one, several, interleaved with spawns and with an Event's rawlinks), added while
# its links are being notified, and unlinked before they were called. One JSON line: for
# each scenario, what the callbacks and tasks logged, in order.
import json

import gevent
from gevent.event import Event


def noop():
    pass


def dead():
    # Joined, then a hub turn: the notification that woke join() is over.
    g = gevent.spawn(noop)
    g.join()
    gevent.sleep(0)
    return g


def just_joined():
    # Joined: join() is a rawlink, woken by the notification, which goes on when we block.
    g = gevent.spawn(noop)
    g.join()
    return g


def turns(n=4):
    for _ in range(n):
        gevent.sleep(0)


def scenarios():
    out = {}

    log = []
    g = dead()
    g.link(lambda _: log.append('link'))
    turns()
    out['deadOneLink'] = log

    log = []
    g = dead()
    g.rawlink(lambda _: log.append('A rawlink'))
    gevent.spawn(lambda: log.append('X spawned'))
    g.link(lambda _: log.append('B link'))
    e = Event()
    e.rawlink(lambda _: log.append('C event rawlink'))
    e.set()
    g.rawlink(lambda _: log.append('D rawlink'))
    gevent.spawn(lambda: log.append('Y spawned'))
    turns()
    out['deadSeveral'] = log

    log = []
    g = dead()
    e = Event()
    gevent.spawn(lambda: log.append('X spawned'))
    e.rawlink(lambda _: log.append('C event rawlink'))
    e.set()
    g.rawlink(lambda _: log.append('A rawlink'))
    g.link(lambda _: log.append('B link'))
    turns()
    out['deadAfterSpawnAndEvent'] = log

    log = []
    g = dead()
    def first(_):
        log.append('first rawlink')
        g.rawlink(lambda _: log.append('added rawlink'))
        g.link(lambda _: log.append('added link'))
    g.rawlink(first)
    g.rawlink(lambda _: log.append('second rawlink'))
    turns()
    out['deadAddedWhileNotifying'] = log

    log = []
    g = gevent.spawn(noop)
    def first_live(_):
        log.append('first rawlink')
        g.rawlink(lambda _: log.append('added rawlink'))
        g.link(lambda _: log.append('added link'))
    def blocking_link(_):
        log.append('link starts')
        gevent.sleep(0)
        log.append('link resumes')
    g.link(blocking_link)
    g.rawlink(first_live)
    g.rawlink(lambda _: log.append('second rawlink'))
    gevent.spawn(lambda: log.append('other task'))
    turns(5)
    out['addedWhileNotifying'] = log

    log = []
    e = Event()
    def sets_then_ends():
        e.set()
        log.append('task ends')
    g = gevent.spawn(sets_then_ends)
    e.rawlink(lambda _: log.append('event rawlink'))
    g.rawlink(lambda _: log.append('task rawlink'))
    g.link(lambda _: log.append('task link'))
    turns()
    out['setThenEnd'] = log

    log = []
    g = just_joined()
    gevent.spawn(lambda: log.append('X spawned'))
    g.rawlink(lambda _: log.append('A rawlink'))
    g.link(lambda _: log.append('B link'))
    turns()
    out['justJoined'] = log

    log = []
    g = gevent.spawn(noop)
    def c(_):
        log.append('c')
    def a(_):
        log.append('a unlinks c')
        g.unlink(c)
    g.rawlink(a)
    g.rawlink(lambda _: log.append('b'))
    g.link(c)
    turns()
    out['unlinkDuringNotification'] = log

    log = []
    g = dead()
    def d(_):
        log.append('d')
    g.link(d)
    g.rawlink(lambda _: log.append('e'))
    g.unlink(d)
    turns()
    out['unlinkOnDeadBeforeCalled'] = log

    log = []
    g = dead()
    def f(_):
        log.append('f')
    g.rawlink(f)
    g.link(f)
    g.unlink(f)
    g.rawlink(lambda _: log.append('g'))
    turns()
    out['unlinkOnDeadFirstOfTwo'] = log

    return out


print(json.dumps(gevent.spawn(scenarios).get()), flush=True)
