"""What the readiness probe asks the databases."""

from csat import db


def database_states():
    """{"primary": ..., "replica": ...}; 503 (ServiceUnavailable) when the primary does not answer.

    A replica that is down or lagging is reported, not raised: its reads go to the primary.
    """
    db.fetch_one("database_ping")
    databases = {"primary": {"reachable": True}}
    replica = db.replica_state_now()
    if replica is not None:
        databases["replica"] = replica.as_json()
    return databases
