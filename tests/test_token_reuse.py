"""A token accepted once is not decoded again by the same worker; it still expires on time.

csat/auth.py keeps the claims of accepted tokens (VerifiedTokens): what could change about a
token as time passes is its expiry, checked on every request.
"""

import time
import uuid

import jwt
import pytest

from tests.servers import assert_boom, bearer, make_token

AGENTS = "/csat/agents/list"


def _unique_token(**kwargs):
    """A token no other test sent (tokens minted in the same second are otherwise equal)."""
    return make_token(jti=uuid.uuid4().hex, **kwargs)


@pytest.fixture
def decodes(monkeypatch):
    """How many times PyJWT decoded a token since the fixture started."""
    count = [0]
    original = jwt.decode

    def counting(*args, **kwargs):
        count[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return lambda: count[0]


def test_a_token_seen_before_is_not_decoded_again(client, decodes):
    headers = bearer(_unique_token())
    for _ in range(3):
        assert client.get(AGENTS, headers=headers).status_code == 200
    assert decodes() == 1


def test_an_accepted_token_is_refused_once_it_expires(client):
    headers = bearer(_unique_token(expires_in=2))
    assert client.get(AGENTS, headers=headers).status_code == 200
    time.sleep(2.1)
    assert_boom(client.get(AGENTS, headers=headers), 401, "Token expired")


def test_a_refused_token_is_verified_again_every_time(client, decodes):
    headers = bearer(_unique_token(expires_in=-120))
    for _ in range(2):
        assert_boom(client.get(AGENTS, headers=headers), 401, "Token expired")
    assert decodes() == 2
