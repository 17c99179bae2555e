"""Export: every rating through GET /csat?report=true (JSON and CSV), against psql's COPY.

Rows/s, time to the first body byte, and the gunicorn workers' RSS growth: VmRSS of every
worker is polled every 20 ms during the stream and compared with its value just before
(VmHWM would include earlier stages' peaks). The reference is `psql -c "COPY (the
export's own query, parameters filled in) TO STDOUT"` into /dev/null, in the same run, in a
transaction with the export's own settings.
"""

import http.client
import subprocess
import threading
import time

from service import memory_kb, worker_pids

from csat.db import SQL_DIR

EXPORT_SETTINGS_FILE = SQL_DIR / "export_session_setup.sql"

ROW_MARK = b'{"rating_id":'


def stream(host, port, path, headers, master_pid):
    workers = worker_pids(master_pid)
    before = {pid: memory_kb(pid) or 0 for pid in workers}
    peaks = dict(before)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            for pid in workers:
                value = memory_kb(pid)
                if value and value > peaks[pid]:
                    peaks[pid] = value
            stop.wait(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    conn = http.client.HTTPConnection(host, port, timeout=600)
    started = time.perf_counter()
    first_byte = None
    total_bytes = json_rows = 0
    tail = b""
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        status = response.status
        while True:
            chunk = response.read1(1 << 16)
            if not chunk:
                break
            if first_byte is None:
                first_byte = time.perf_counter()
            total_bytes += len(chunk)
            window = tail + chunk
            json_rows += window.count(ROW_MARK)
            tail = window[-(len(ROW_MARK) - 1):]
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        poller.join()
        conn.close()
    growth_kb = max(peaks[pid] - before[pid] for pid in workers)
    return {
        "status": status, "seconds": round(elapsed, 3), "bytes": total_bytes,
        "ttfb_ms": round((first_byte - started) * 1000, 1) if first_byte else None,
        "rss_growth_mb": round(growth_kb / 1024, 1),
        "rss_before_mb": {str(pid): round(kb / 1024, 1) for pid, kb in before.items()},
        "json_rows_seen": json_rows,
    }


def copy_reference(database_url, sql, csv):
    """Seconds for psql to COPY the query's rows to /dev/null, in a transaction with the
    export's own settings (sql/export_session_setup.sql), as the service runs it."""
    options = " WITH (FORMAT csv, HEADER)" if csv else ""
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database_url,
               "-v", "statement_timeout_ms=0", "-c", "BEGIN", "-f", str(EXPORT_SETTINGS_FILE),
               "-c", f"COPY ({sql}) TO STDOUT{options}", "-c", "COMMIT"]
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started
