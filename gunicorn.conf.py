"""gunicorn settings for production and `make run` (`gunicorn -c gunicorn.conf.py 'app:create_app()'`).

gthread workers: a long export streams from a thread without tripping the worker timeout
that kills sync workers (csat/gunicorn_worker.py adds Boom JSON to gunicorn's refusals). Sizes come from the environment, never from the host's CPU count
(a container sees the host's cores). Each worker builds its app, and so its database pool,
after the fork (preload_app is off; csat/db.py also rebuilds a pool it finds in another
pid). Connections per worker: DB_POOL_MAX_SIZE, by default GUNICORN_THREADS + 1 (one per
request thread, one for an export in flight), so the service opens at most
GUNICORN_WORKERS x (GUNICORN_THREADS + 1) connections per database.

Logs: gunicorn's own and the application's, one JSON object per line on stdout
(csat/request_log.py). Metrics: every worker writes to PROMETHEUS_MULTIPROC_DIR, which is
created here, in the master, before any worker forks (csat/metrics.py).
"""

import glob
import os
import shutil
import tempfile


def _int_env(name, default):
    return int(os.environ.get(name) or default)


_CREATED_MARK = "CSAT_PROMETHEUS_DIR_CREATED"  # the directory on_exit may delete


def _prometheus_directory():
    """PROMETHEUS_MULTIPROC_DIR: the operator's, or a new temporary one.

    Set in os.environ here, in the master, so every worker inherits it. A configuration
    reload (SIGHUP) runs this file again and finds it set: the workers keep their files.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        created = tempfile.mkdtemp(prefix="csat-prometheus-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
        os.environ[_CREATED_MARK] = created
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


# Before anything imports prometheus_client: it picks its storage on import.
PROMETHEUS_DIRECTORY = _prometheus_directory()

from prometheus_client import multiprocess  # noqa: E402 (after the metrics directory is set)

from csat.gunicorn_worker import keepalive_linger_ms  # noqa: E402
from csat.request_log import logging_config  # noqa: E402

bind = os.environ.get("BIND", "0.0.0.0:8000")
# gthread, answering the requests gunicorn refuses itself in Boom JSON, whose threads serve a
# keep-alive client's next request themselves within GUNICORN_KEEPALIVE_LINGER_MS
# (csat/gunicorn_worker.py reads it).
worker_class = "csat.gunicorn_worker.BoomThreadWorker"
keepalive_linger_ms()  # a bad value stops the master here, before any worker boots
workers = _int_env("GUNICORN_WORKERS", 2)
threads = _int_env("GUNICORN_THREADS", 8)
# csat/config.py sizes the pool from GUNICORN_THREADS; say so once, for both to agree.
os.environ.setdefault("GUNICORN_THREADS", str(threads))
# A worker whose main loop is silent this long is stuck; gthread streams do not count.
timeout = _int_env("GUNICORN_TIMEOUT", 30)
# On SIGTERM, requests in flight (a long export) get this long before workers are killed.
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 120)
keepalive = _int_env("GUNICORN_KEEPALIVE", 75)  # above nginx's upstream keepalive_timeout
# Recycle workers now and then (slow leaks); the jitter keeps them from restarting together.
max_requests = _int_env("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _int_env("GUNICORN_MAX_REQUESTS_JITTER", 1000)
# Proxies whose X-Forwarded-Proto is believed: nginx on the same host by default.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Request lines up to 8190 bytes (gunicorn's maximum) are served: what nginx's default
# `large_client_header_buffers 4 8k` admits, and room for a stock DataTables query string
# (~4.6 KB for 20 columns). Longer lines get a Boom 414 from the worker.
limit_request_line = 8190
# Tokens are refused by the app above 8 KB with a Boom 401; let them reach it. A larger
# header (or more than 100) gets a Boom 431 from the worker.
limit_request_field_size = 65536 + 1024
# gunicorn 27's control socket lives at one fixed path per user; instances would share it.
control_socket_disable = True
preload_app = False  # the app (and its pool) is built in each worker, after fork
# The heartbeat file: on a container's overlay filesystem a write can stall for seconds.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") else None)

loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = None  # the app writes a richer JSON access line itself
logger_class = "csat.request_log.GunicornLogger"  # ...so gunicorn does not build its own
errorlog = "-"
logconfig_dict = logging_config(loglevel.upper())


def on_starting(server):
    """A directory given by the operator may hold a previous run's counters: start from zero."""
    for stale in glob.glob(os.path.join(PROMETHEUS_DIRECTORY, "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    """A dead worker's gauges leave the sums; its counters stay (those requests happened)."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get(_CREATED_MARK) == PROMETHEUS_DIRECTORY:
        shutil.rmtree(PROMETHEUS_DIRECTORY, ignore_errors=True)
