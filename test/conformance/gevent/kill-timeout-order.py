# gevent's side of test/hub/kill-again.test.ts's "a kill sent, then the task's Timeout
# due, before the task runs again" (kill-timeout-order.test.ts runs it): a killer, spawned
# first, is woken by sleep(0) or by a 1 ms sleep, kills the target without blocking, and
# stays busy until past the target's 300 ms Timeout; the target's finally parks in a
# cleanup wait. One JSON line per wake: what the target's waits got, in order.
import json
import time

import gevent
from gevent import Timeout


def kind(e):
    return type(e).__name__


def scenario(wake):
    log = []
    state = {}

    def logged_sleep(label):
        try:
            gevent.sleep(10)
            log.append('%s ran to its end' % label)
        except BaseException as e:
            log.append('%s got %s' % (label, kind(e)))
            raise

    def cleans_up_slowly():
        try:
            logged_sleep('body')
        finally:
            log.append('finally parks')
            logged_sleep('cleanup')

    def killer_fn():
        gevent.sleep(wake)
        log.append('killer kills')
        target.kill(block=False)
        state['sent_in_time'] = time.monotonic() - state['started'] < 0.3
        while time.monotonic() < state['started'] + 0.31:
            pass  # the target's Timeout is due before the target runs again
        log.append('killer done')

    def target_fn():
        state['started'] = time.monotonic()
        state['timeout'] = Timeout.start_new(0.3)
        try:
            cleans_up_slowly()
        finally:
            state['timeout'].close()

    killer = gevent.spawn(killer_fn)
    target = gevent.spawn(target_fn)
    killer.join()
    target.join(2)
    print(json.dumps({
        'wake': wake,
        'sentInTime': state.get('sent_in_time'),
        'log': log,
        'dead': target.dead,
        'failedWithItsTimeout': target.exception is state.get('timeout'),
    }), flush=True)


# The target fails with its Timeout: gevent prints that to stderr, as it does every error.
for wake in (0, 0.001):
    scenario(wake)
