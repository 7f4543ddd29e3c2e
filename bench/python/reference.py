#!/usr/bin/env python3
"""The Python reference figures of docs/benchmarks.md, measured on this machine.

Prints one JSON object per line on stdout, ``{"name": ..., "unit": ..., "value": ...}``,
and the versions measured on stderr. ``bench/reference.ts`` runs it beside the matching
greenlet-ts benchmarks (``npm run bench:reference``); it also runs on its own:

    python3 bench/python/reference.py

Needs Python 3 with greenlet and gevent; on Debian: ``apt-get install python3-greenlet
python3-gevent`` (for ``/usr/bin/python3``). Exits with code 2 if either is missing.

Every timing is the MEDIAN of several timed repeats, after one untimed warm-up run, as
the greenlet-ts side reports medians (mitata's p50, or the median of whole runs). Each
measurement stays under 10 s; the whole script takes about 15 s.
"""

import gc
import json
import os
import statistics
import sys
import time

try:
    import greenlet
    import gevent
    import gevent.queue
except ImportError as missing:
    print(
        f"reference.py: {missing} under {sys.executable}; "
        "install python3-greenlet and python3-gevent (apt-get install -y python3-greenlet python3-gevent)",
        file=sys.stderr,
    )
    sys.exit(2)


def report(name, unit, value):
    print(json.dumps({"name": name, "unit": unit, "value": round(value, 1)}), flush=True)


def median_ns(run, repeats, warm_up=None):
    """Median wall time of ``run()`` in ns over ``repeats`` timed calls, after one untimed
    call of ``warm_up`` (``run`` itself unless given)."""
    (warm_up or run)()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        run()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times)


# greenlet.memory ------------------------------------------------------------------------

MEMORY_COUNT = 100_000


def resident_bytes():
    """Resident set size of this process, from /proc/self/statm (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def suspended_greenlet_bytes():
    """RSS growth per suspended greenlet with MEMORY_COUNT alive.

    RSS and not tracemalloc: a suspended greenlet keeps the slice of C stack it was
    using in a buffer that greenlet allocates itself, which tracemalloc does not see.
    The figure includes the greenlet object, its Python frame and that stack slice.
    """
    main = greenlet.getcurrent()

    def suspend_once(i):
        main.switch()
        return i

    keep = [None] * MEMORY_COUNT
    gc.collect()
    before = resident_bytes()
    for i in range(MEMORY_COUNT):
        g = greenlet.greenlet(suspend_once)
        g.switch(i)
        keep[i] = g
    gc.collect()
    after = resident_bytes()
    for g in keep:
        g.switch()  # let each finish rather than have GreenletExit thrown into it
    return (after - before) / MEMORY_COUNT


# greenlet.switch ------------------------------------------------------------------------

SWITCH_BATCH = 100_000


def switch_round_trip_ns():
    """A switches to B, B switches back to A: one round trip is two switches."""

    def side_a():
        while True:
            for i in range(SWITCH_BATCH):
                b.switch(i)
            a.parent.switch()

    def side_b(_):
        while True:
            a.switch()

    a = greenlet.greenlet(side_a)
    b = greenlet.greenlet(side_b)
    return median_ns(a.switch, 7) / SWITCH_BATCH


# greenlet.spawn -------------------------------------------------------------------------

SPAWN_BATCH = 50_000


def spawn_ns():
    """Create, start and finish a greenlet: ``greenlet(f).switch(i)``, f returning at once.

    Most of this is the kernel's: with greenlet 2.0 on CPython 3.11 each greenlet gets a
    fresh data-stack chunk for its frames, mapped on start and unmapped when it finishes
    (greenlet's PythonState::did_finish): one mmap and one munmap per greenlet in strace.
    """

    def finish_at(x):
        return x

    def run():
        make = greenlet.greenlet
        for i in range(SPAWN_BATCH):
            make(finish_at).switch(i)

    return median_ns(run, 5) / SPAWN_BATCH


# gevent ---------------------------------------------------------------------------------

SPAWN_COUNT = 100_000


def spawn_sleep0_join_ns():
    """Spawn SPAWN_COUNT greenlets that each sleep(0) once, joinall; per greenlet."""

    def yield_once():
        gevent.sleep(0)

    def run(count=SPAWN_COUNT):
        gevent.joinall([gevent.spawn(yield_once) for _ in range(count)])

    # About 2.7 s a run here: warm up on a tenth to stay under 10 s in all.
    return median_ns(run, 3, warm_up=lambda: run(SPAWN_COUNT // 10)) / SPAWN_COUNT


PINGPONG_ROUNDS = 50_000


def pingpong_ns(make):
    """A round trip between two greenlets through two queues made by ``make()``:
    ``gevent.queue.Queue`` (unbounded) or ``gevent.queue.Channel`` (unbuffered: put waits
    for a getter)."""

    def run():
        ping = make()
        pong = make()

        def ponger():
            for _ in range(PINGPONG_ROUNDS):
                pong.put(ping.get() + 1)

        other = gevent.spawn(ponger)
        for i in range(PINGPONG_ROUNDS):
            ping.put(i)
            pong.get()
        other.join()

    return median_ns(run, 5) / PINGPONG_ROUNDS


def main():
    print(
        f"Python {sys.version.split()[0]} ({sys.executable}), "
        f"greenlet {greenlet.__version__}, gevent {gevent.__version__}",
        file=sys.stderr,
    )
    # Memory first, in a heap that nothing else has grown yet: the figure is RSS growth.
    report("greenlet.memory", "B/item", suspended_greenlet_bytes())
    report("greenlet.switch", "ns/op", switch_round_trip_ns())
    report("greenlet.spawn", "ns/op", spawn_ns())
    report("gevent.spawn_sleep0_join", "ns/op", spawn_sleep0_join_ns())
    report("gevent.queue.pingpong", "ns/op", pingpong_ns(gevent.queue.Queue))
    report("gevent.channel.pingpong", "ns/op", pingpong_ns(gevent.queue.Channel))


if __name__ == "__main__":
    main()
