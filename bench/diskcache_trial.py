"""One trial of the Node benchmark for Python's diskcache, run by run.js in its own process.

    /usr/bin/python3 bench/diskcache_trial.py '<json spec>'   # the same spec as trial.js
    /usr/bin/python3 bench/diskcache_trial.py --version       # prints the versions, or fails

The same workloads as trial.js (scaling, value-size, batch, fill, writer; diskcache has no
async API) on the same keys (the xorshift32 sequences of common.js),
each write a distinct value (see stampedValues in common.js), keys and values prepared before
the timed loops, each call timed alone with time.perf_counter_ns; prints one JSON object
(nanoseconds) on stdout.
diskcache.Cache is used with its defaults (WAL, synchronous=NORMAL, no statistics).
"""
import json
import math
import os
import sys
import time
from time import perf_counter_ns

import diskcache

VALUE_BYTES = 256
FILL_BATCH = 1000
PHASE_STAMP = 10**8


class Values:
    """Values of `size` bytes, each with a stamp never used before in this trial in its first 8 bytes."""

    def __init__(self, size=VALUE_BYTES):
        self.size = size
        self.base = os.urandom(size)
        self.phase = 0

    def stamped(self, first, count):
        tail = self.base[8:]
        return [(first + i).to_bytes(8, "little") + tail for i in range(count)]

    def next(self, count):
        self.phase += 1
        return self.stamped(self.phase * PHASE_STAMP, count)


def random_indices(count, size, seed):
    x = (seed & 0xFFFFFFFF) or 0x9E3779B9
    out = [0] * count
    for i in range(count):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x % size
    return out


def key_of(i):
    return f"key-{i}"


def keys_for(indices):
    return [key_of(i) for i in indices]


def set_many(cache, keys, values, start, count):
    with cache.transact():
        for i in range(start, start + count):
            cache.set(keys[i], values[i])


def fill(cache, size, values):
    ns = 0
    per_batch = max(1, min(FILL_BATCH, (64 << 20) // values.size))
    for start in range(0, size, per_batch):
        n = min(per_batch, size - start)
        keys = [key_of(start + i) for i in range(n)]
        vals = values.stamped(start, n)
        t0 = perf_counter_ns()
        set_many(cache, keys, vals, 0, n)
        ns += perf_counter_ns() - t0
    if cache.get(key_of(size - 1)) != values.stamped(size - 1, 1)[0]:
        raise RuntimeError(f"diskcache: get({key_of(size - 1)}) did not return the value written")
    return ns / size


def time_sets(cache, keys, values):
    vals = values.next(len(keys))
    out = [0] * len(keys)
    cset = cache.set
    for i, k in enumerate(keys):
        v = vals[i]
        t0 = perf_counter_ns()
        cset(k, v)
        out[i] = perf_counter_ns() - t0
    return out


def time_gets(cache, keys, values):
    out = [0] * len(keys)
    cget = cache.get
    misses = 0
    for i, k in enumerate(keys):
        t0 = perf_counter_ns()
        v = cget(k)
        out[i] = perf_counter_ns() - t0
        if v is None or len(v) != values.size:
            misses += 1
    if misses:
        raise RuntimeError(f"diskcache: {misses} misses in the get (hit) phase")
    return out


def time_misses(cache, keys, values):
    missing = [f"missing-{k}" for k in keys]
    out = [0] * len(keys)
    cget = cache.get
    hits = 0
    for i, k in enumerate(missing):
        t0 = perf_counter_ns()
        v = cget(k)
        out[i] = perf_counter_ns() - t0
        if v is not None:
            hits += 1
    if hits:
        raise RuntimeError(f"diskcache: {hits} hits in the get (miss) phase")
    return out


def time_deletes(cache, keys, values):
    vals = values.next(len(keys))
    out = [0] * len(keys)
    cdel = cache.delete
    cset = cache.set
    absent = 0
    for i, k in enumerate(keys):
        t0 = perf_counter_ns()
        removed = cdel(k)
        out[i] = perf_counter_ns() - t0
        if not removed:
            absent += 1
        cset(k, vals[i])
    if absent:
        raise RuntimeError(f"diskcache: {absent} deletes found no entry")
    return out


PHASES = {
    "set": (time_sets, 1, "set"),
    "get": (time_gets, 2, "get"),
    "delete": (time_deletes, 3, "delete"),
    "miss": (time_misses, 4, "get-miss"),
}


def per_operation(cache, spec, values):
    size, ops, warmup, seed = spec["size"], spec["ops"], spec["warmup"], spec["seed"]
    phases = spec.get("phases") or ["set", "get", "miss", "delete"]
    result = {"fillNsPerOp": fill(cache, size, values), "series": []}
    warm = keys_for(random_indices(warmup, size, seed + 100))
    for p in phases:
        PHASES[p][0](cache, warm, values)
    for p in phases:
        fn, s, op = PHASES[p]
        keys = keys_for(random_indices(ops, size, seed + s))
        result["series"].append({"op": op, "batch": 1, "samples": fn(cache, keys, values)})
    return result


def await_start(barrier, w):
    """The writers' start barrier (see awaitStart in trial.js); returns the start instant (epoch ms)."""
    open(os.path.join(barrier, f"ready-{w}"), "w").close()
    go = os.path.join(barrier, "go")
    while not os.path.exists(go):
        time.sleep(0.001)
    with open(go) as f:
        start_at = float(f.read())
    while time.time() * 1000 < start_at - 2:
        time.sleep(0.001)
    while time.time() * 1000 < start_at:
        pass
    return start_at


def writer(cache, spec, values):
    """One of the processes writing one (already filled) store, all starting at the same instant."""
    size, ops, warmup, seed, w = spec["size"], spec["ops"], spec["warmup"], spec["seed"], spec["writer"]
    time_sets(cache, keys_for(random_indices(warmup, size, seed + 500 + w)), values)
    keys = keys_for(random_indices(ops, size, seed + 600 + w))
    vals = values.stamped((values.phase + 10 * (w + 1) + 1) * PHASE_STAMP, ops)
    values.phase += 1
    start_at = await_start(spec["barrier"], w)
    out = [0] * ops
    cset = cache.set
    for i, k in enumerate(keys):
        v = vals[i]
        t0 = perf_counter_ns()
        cset(k, v)
        out[i] = perf_counter_ns() - t0
    return {"startAt": start_at, "endMs": time.time() * 1000, "series": [{"op": "set", "batch": 1, "samples": out}]}


def batch(cache, spec, values):
    size, ops, seed = spec["size"], spec["ops"], spec["seed"]
    result = {"fillNsPerOp": fill(cache, size, values), "series": []}
    for b in spec["batches"]:
        count = max(spec["minBatches"], math.ceil(ops / b))
        warm_count = spec.get("warmBatches") or max(2, math.ceil(count / 10))
        warm = keys_for(random_indices(warm_count * b, size, seed + 200 + b))
        warm_values = values.next(len(warm))
        for j in range(warm_count):
            set_many(cache, warm, warm_values, j * b, b)
        keys = keys_for(random_indices(count * b, size, seed + 300 + b))
        vals = values.next(len(keys))
        samples = [0] * count
        for j in range(count):
            t0 = perf_counter_ns()
            set_many(cache, keys, vals, j * b, b)
            samples[j] = round((perf_counter_ns() - t0) / b)
        result["series"].append({"op": "set", "batch": b, "samples": samples})
    return result


def main():
    if sys.argv[1:] == ["--version"]:
        import sqlite3
        print(f"diskcache {diskcache.__version__} (Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version})")
        return
    spec = json.loads(sys.argv[1])
    cache = diskcache.Cache(spec["dir"])
    values = Values(spec.get("valueBytes") or VALUE_BYTES)
    workload = spec["workload"]
    try:
        if workload == "batch":
            result = batch(cache, spec, values)
        elif workload == "fill":
            result = {"fillNsPerOp": fill(cache, spec["size"], values), "series": []}
        elif workload == "writer":
            result = writer(cache, spec, values)
        elif workload in ("scaling", "value-size"):
            result = per_operation(cache, spec, values)
        else:
            raise SystemExit(f"diskcache has no {workload} workload")
    finally:
        cache.close()
    json.dump({"peer": "diskcache", "workload": spec["workload"], "size": spec["size"], **result}, sys.stdout)


if __name__ == "__main__":
    main()
