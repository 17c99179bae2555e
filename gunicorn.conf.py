"""gunicorn settings for production and `make run` (`gunicorn -c gunicorn.conf.py app:app`).

gthread workers: a long export streams from a thread without tripping the worker timeout
that kills sync workers. Sizes come from the environment, never from the host's CPU count
(a container sees the host's cores). Each worker builds its app, and so its database pool,
after the fork.
"""

import os

from csat.request_log import configure_logging

bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that sends nothing for this long is stuck; gthread keeps streams alive past it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, running exports get this long to finish before the worker is killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "120"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))  # above nginx's upstream keepalive
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Tokens are refused by the app above 8 KB with a Boom 401; let them reach it.
limit_request_field_size = 65536 + 1024
preload_app = False  # the app (and its pool) is built in each worker, after fork
accesslog = None  # the app writes its own JSON access log line per request
errorlog = "-"


def on_starting(server):
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))


def post_fork(server, worker):
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
