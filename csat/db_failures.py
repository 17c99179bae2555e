"""Which psycopg2 errors mean the database itself failed, rather than one statement.

Both sides need the answer: csat/db.py retries a statement once on a new connection after a
disconnect, and csat/errors.py answers 503 instead of 500 when the database cannot serve now.
Kept apart from both so neither has to import the other.
"""

import psycopg2
import psycopg2.errors


def is_disconnect(exc):
    """The connection itself is gone (as opposed to a failing statement)."""
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if isinstance(exc, psycopg2.OperationalError) and not isinstance(exc, psycopg2.errors.QueryCanceled):
        return getattr(exc, "pgcode", None) is None or exc.pgcode.startswith(("08", "57P"))
    return False


def is_unavailable(exc):
    """Failures that mean "the database can't serve us now": answer 503, never 409/500."""
    return (
        is_disconnect(exc)
        or isinstance(exc, (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable,
                            psycopg2.errors.TooManyConnections, psycopg2.errors.CannotConnectNow))
        or (isinstance(exc, psycopg2.OperationalError) and getattr(exc, "pgcode", None) is None)
    )
