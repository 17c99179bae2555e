"""Reading an export ahead of the client, in a helper thread, at most two chunks ahead."""

import queue
import threading

import psycopg2


class Prefetch:
    """Runs produce(deliver) in a helper thread and iterates what it delivers, in order.

    The queue holds two chunks: the helper reads the next chunk from the database while
    the response thread sends the current one (psycopg2 releases the GIL while it waits
    on the network), and blocks when the client reads slower than the database produces.
    An exception in the helper is re-raised by the iterator. stop() ends the helper:
    deliver() raises in it, and a statement still running after `patience` seconds is
    cancelled (PQcancel; the rollback that follows reads what was already on its way).
    """

    DEPTH = 2
    _END = object()

    def __init__(self, produce, *, cancel, patience):
        self._queue = queue.Queue(maxsize=self.DEPTH)
        self._stopping = threading.Event()
        self._cancel = cancel
        self._patience = patience
        self._thread = threading.Thread(target=self._run, args=(produce,), name="csat-export",
                                        daemon=True)
        self._thread.start()

    def __iter__(self):
        while (item := self._queue.get()) is not self._END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self):
        self._stopping.set()
        self._drain()
        self._thread.join(self._patience)
        if self._thread.is_alive():  # still inside a FETCH or COPY: end it at the server
            try:
                self._cancel()
            except psycopg2.Error:
                pass  # the rollback that follows discards a connection that cannot cancel
            while self._thread.is_alive():
                self._drain()
                self._thread.join(0.05)

    def _run(self, produce):
        try:
            produce(self._deliver)
            item = self._END
        except _Stopped:
            return
        except BaseException as exc:  # noqa: B036 (handed to the response thread)
            item = exc
        try:
            self._deliver(item)
        except _Stopped:
            pass

    def _deliver(self, item):
        while True:
            if self._stopping.is_set():
                raise _Stopped
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def _drain(self):
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass



class _Stopped(Exception):
    """Raised inside the helper thread once the export is being ended."""

