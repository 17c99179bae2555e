"""Is the read replica fit to serve reads? One monitor per worker process keeps the answer.

A background thread asks the replica every DB_REPLICA_CHECK_SECONDS how far it has got
(sql/replica_status.sql, on a connection of its own, so a busy pool never looks like a dead
replica). Reads go to the replica while it answers and lags at most DB_REPLICA_MAX_LAG_MS;
otherwise to the primary, until a later check finds it fit again. A read that finds the
replica gone before the next check marks it unreachable at once (`mark_unreachable`).

Lag is measured on the standby alone: the WAL it has received from the primary against the
WAL it has replayed. The monitor remembers when each received position was first seen; the
lag is the age of the oldest one not yet replayed (0 when replay has caught up), so it counts
recovery_min_apply_delay, a long replay or a recovery conflict pause, to within one check
interval. A server that is not a standby (pg_is_in_recovery() false, e.g. a logical replica)
has no positions to compare: its lag is unknown (None) and never makes it unfit.
"""

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass

import psycopg2

from csat import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicaState:
    reachable: bool
    in_recovery: bool | None = None  # None: never reached
    replay_position: int | None = None  # WAL bytes replayed; None unless a standby
    lag_seconds: float | None = None  # None: unknown (unreachable, or not a standby)
    serving_reads: bool = True

    def as_json(self):
        return {"reachable": self.reachable, "serving_reads": self.serving_reads,
                "lag_seconds": self.lag_seconds}


# Until the first check, the replica is assumed fit: a read that finds it down falls back.
UNCHECKED = ReplicaState(reachable=True)


class ReplicaMonitor:
    def __init__(self, connect, probe, *, check_seconds, max_lag_ms):
        """connect() opens a new replica connection; probe(conn) returns replica_status's row."""
        self._connect = connect
        self._probe = probe
        self.pid = os.getpid()  # a forked worker starts its own
        self.check_seconds = check_seconds
        self.max_lag_ms = max_lag_ms
        self.state = UNCHECKED
        self._conn = None
        self._unreplayed = collections.deque()  # (first seen, received position)
        self._check_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="csat-replica-monitor", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._check_lock:
            self._close()

    def mark_unreachable(self, reason):
        """A read just failed to reach the replica: serve reads from the primary until a check
        finds it again."""
        if self.state.reachable:
            log.warning("read replica unreachable (%s); reads go to the primary", reason)
        self._publish(ReplicaState(reachable=False, serving_reads=False))

    def check_now(self):
        """Ask the replica now; returns (and publishes) the new state."""
        with self._check_lock:
            try:
                row = self._status()
            except psycopg2.Error as exc:
                self._close()
                self._unreplayed.clear()
                if self.state.reachable:
                    log.warning("read replica check failed: %s", str(exc).strip())
                return self._publish(ReplicaState(reachable=False, serving_reads=False))
            lag = self._lag(time.monotonic(), row["received_position"], row["replay_position"])
            fit = lag is None or lag * 1000 <= self.max_lag_ms
            if not fit and self.state.serving_reads:
                log.warning("read replica lags %.1f s (limit %d ms); reads go to the primary",
                            lag, self.max_lag_ms)
            return self._publish(ReplicaState(
                reachable=True, in_recovery=row["in_recovery"], replay_position=row["replay_position"],
                lag_seconds=lag, serving_reads=fit))

    def _status(self):
        for attempt in (1, 2):  # a connection the replica dropped (a restart) is replaced once
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                return self._probe(self._conn)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self._close()
                if attempt == 2:
                    raise

    def _lag(self, now, received, replayed):
        if received is None or replayed is None:
            self._unreplayed.clear()
            return None
        if not self._unreplayed or received > self._unreplayed[-1][1]:
            self._unreplayed.append((now, received))
        while self._unreplayed and self._unreplayed[0][1] <= replayed:
            self._unreplayed.popleft()
        return round(now - self._unreplayed[0][0], 3) if self._unreplayed else 0.0

    def _publish(self, state):
        self.state = state
        metrics.replica_state(state.reachable, state.lag_seconds, state.serving_reads)
        return state

    def _close(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _run(self):
        while not self._stopping.is_set():
            try:
                self.check_now()
            except Exception:  # a failed check must not end the monitoring for good
                log.exception("checking the read replica failed")
            self._stopping.wait(self.check_seconds)
