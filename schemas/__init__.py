"""marshmallow schemas: what each endpoint accepts (…Args, …In) and returns (…Out, …Row)."""

# Ids are PostgreSQL bigints: a larger one would fail its cast (a 500), not miss (a 404).
BIGINT_MAX = 2**63 - 1
