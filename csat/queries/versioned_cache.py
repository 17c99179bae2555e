"""Values remembered with the rating_filter_version they were read at, one bounded LRU per app.

rating_filter_version (migrations 0021, 0024) moves in the same transaction as every change
that can alter a list filter's result or a summary, so a value read at version V is still
exact for as long as the database reads V. The response bodies remembered on this (whole
summaries in csat/queries/summary.py, comment themes in csat/queries/themes.py, through
`remembered_or_computed`) only decide whether the database must compute again; whether V is
still current is always asked of the database. Counts and summary cells are remembered in
PostgreSQL instead, for every worker (csat/queries/remembered.py).

Bounded, least recently used first out; one per app (so per database and per worker
process), shared by the worker's threads. `computing(key)` lets one thread at a time compute a
key's value (striped locks: a bounded set, shared by unrelated keys only by chance), so the
threads that miss together after a change wait for one computation instead of each running it.
"""

import json
import threading
from collections import OrderedDict

from flask import current_app

from csat import db


class VersionedCache:
    STRIPES = 64

    def __init__(self, max_entries):
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self._computing = [threading.Lock() for _ in range(self.STRIPES)]

    def computing(self, key):
        """The lock to hold while checking and computing key's value."""
        return self._computing[hash(key) % self.STRIPES]

    def get(self, key):
        """(version, value) remembered for key, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, version, value):
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def for_app(name, max_entries):
    """The current app's cache called `name` (apps may use different databases)."""
    extensions = current_app.extensions
    cache = extensions.get(name)
    if cache is None:
        cache = extensions.setdefault(name, VersionedCache(max_entries))
    return cache


def key_of(arguments):
    """A stable text key for a dict of query arguments, neither the arguments' order nor a
    list's mattering: the key of this module's caches and of the answers remembered in
    PostgreSQL (csat/queries/remembered.py)."""
    canonical = {name: sorted(value, key=str) if isinstance(value, (list, tuple)) else value
                 for name, value in arguments.items()}
    return json.dumps(canonical, sort_keys=True, default=str, separators=(",", ":"))


def remembered_or_computed(name, max_entries, arguments, compute):
    """The value this worker remembers for `arguments` in cache `name` while the database still
    reads the version it was read at; else compute(arguments) -> (version, value), remembered.
    Requests that miss together compute it once."""
    cache = for_app(name, max_entries)
    key = key_of(arguments)
    with cache.computing(key):
        remembered = cache.get(key)
        if remembered is not None:
            version, value = remembered
            if version == db.fetch_one("rating_filter_version_get", role="replica")["version"]:
                return value
        version, value = compute(arguments)
        cache.put(key, version, value)
        return value
