"""OWASP's JWT attacks beyond tests/test_auth.py: every one is a 401 Boom, never 500 or 422.

tests/test_auth.py already covers: no/malformed header, `alg: none`, wrong key, wrong HS
algorithm, expired, no `exp`, `nbf` in the future, lifetime over the maximum, unknown and
inactive admin, non-numeric and missing identity, refresh tokens, a 64 KB token, a tampered
payload, wrong `iss`/`aud`, and HS256 signed with the RS256 public key. This file adds the
variants attackers try next: `none` in other spellings, stripped and transplanted
signatures, `kid`/`jku`/`x5u`/embedded `jwk` headers, headers and payloads that are not
JSON objects, claims of the wrong JSON type (non-finite numbers included, which Python's
JSON parser accepts), identities and locale lists out of range, tokens in other places
than the Authorization header, and, under RS256, other asymmetric algorithms and keys.

Each attack is sent to a read (GET /csat/agents/list) and a write (POST /csat/comments,
for a rating that does not exist: a wrongly accepted token gets a 404, and nothing is
written to the shared database either way).
"""

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from app import create_app
from tests.servers import TEST_SECRET, assert_boom, bearer, make_settings, make_token, sign

NOW = int(time.time())
CLAIMS = {"sub": 1, "permissions": ["menu-csat", "csat-add-comments"], "iat": NOW, "exp": NOW + 600}
MISSING_RATING = 2**62  # far above every seeded id


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def hs256(header: bytes, payload: bytes, key: bytes = TEST_SECRET.encode()) -> str:
    """A token with exactly these header and payload bytes, HMAC-SHA256 signed with key."""
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def unsigned(header: dict, payload: dict = CLAIMS, signature: str = "") -> str:
    return f"{_b64(_json(header))}.{_b64(_json(payload))}.{signature}"


def claims(**changes):
    """CLAIMS with some claims changed (a value of ... removes the claim)."""
    merged = {**CLAIMS, **changes}
    return _json({name: value for name, value in merged.items() if value is not ...})


HS = _json({"alg": "HS256", "typ": "JWT"})
VALID = hs256(HS, claims())
_header, _payload, _signature = VALID.split(".")
ANOTHER = hs256(HS, claims(sub=2))

# The attacker's own RSA key: what `jwk`, `jku` and `x5u` tricks sign with.
ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ATTACKER_PEM = ATTACKER_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
ATTACKER_JWK = json.loads(RSAAlgorithm.to_jwk(ATTACKER_KEY.public_key()))


def attacker_signed(algorithm="RS256", **headers):
    return sign(json.loads(claims()), key=ATTACKER_PEM, algorithm=algorithm, headers=headers or None)


HS256_ATTACKS = {
    # `none`, spelled the ways that slipped past case-sensitive checks elsewhere.
    **{f"alg {alg}": unsigned({"alg": alg, "typ": "JWT"}) for alg in ("None", "NONE", "nOnE")},
    "alg none with a valid signature kept": unsigned({"alg": "none"}, signature=_signature),
    "alg empty": unsigned({"alg": ""}, signature=_signature),
    "alg missing": hs256(_json({"typ": "JWT"}), claims()),
    "alg not a string": hs256(_json({"alg": ["HS256"]}), claims()),
    "signature stripped": f"{_header}.{_payload}.",
    "signature of another token": f"{_header}.{_payload}.{ANOTHER.split('.')[2]}",
    "signature not base64": f"{_header}.{_payload}.!!!!",
    "empty secret": hs256(HS, claims(), key=b""),
    "kid path traversal, empty key": hs256(_json({"alg": "HS256", "kid": "../../../../../dev/null"}),
                                           claims(), key=b""),
    "kid sql injection": hs256(_json({"alg": "HS256", "kid": "x' UNION SELECT 'k'--"}), claims(), key=b"k"),
    "embedded jwk (CVE-2018-0114)": attacker_signed(jwk=ATTACKER_JWK),
    "jku to an attacker's key set": attacker_signed(jku="https://attacker.example/jwks.json"),
    "x5u to an attacker's certificate": attacker_signed(x5u="https://attacker.example/cert.pem"),
    "two segments": f"{_header}.{_payload}",
    "four segments": f"{VALID}.{_signature}",
    "JWE-shaped (five segments)": f"{_header}..{_payload}.{_payload}.{_signature}",
    "padding characters": f"{_header}==.{_payload}.{_signature}",
    "header not JSON": hs256(b"\xff\xfe{", claims()),
    "header a JSON array": hs256(b'["HS256"]', claims()),
    "payload not UTF-8": hs256(HS, b"\xff\xfe\xfd"),
    "payload a JSON array": hs256(HS, b"[1,2]"),
    "payload a JSON string": hs256(HS, b'"admin"'),
    "payload a JSON number": hs256(HS, b"1"),
    "exp Infinity": hs256(HS, claims(exp="<inf>").replace(b'"<inf>"', b"1e400")),
    "exp NaN": hs256(HS, claims(exp="<nan>").replace(b'"<nan>"', b"NaN")),
    "exp a string": hs256(HS, claims(exp=str(NOW + 600))),
    "exp true": hs256(HS, claims(exp=True)),
    "exp beyond 64 bits": hs256(HS, claims(exp=2**70)),
    "iat Infinity": hs256(HS, claims(iat="<inf>").replace(b'"<inf>"', b"1e400")),
    "iat minus Infinity": hs256(HS, claims(iat="<inf>").replace(b'"<inf>"', b"-1e400")),
    "iat a string": hs256(HS, claims(iat=str(NOW))),
    "iat a day in the future": hs256(HS, claims(iat=NOW + 86400)),
    "issued two days ago, lifetime over the maximum": hs256(HS, claims(iat=NOW - 2 * 86400)),
    "nbf NaN": hs256(HS, claims(nbf="<nan>").replace(b'"<nan>"', b"NaN")),
    "nbf a string": hs256(HS, claims(nbf=str(NOW))),
    **{f"sub {label}": hs256(HS, claims(sub=value)) for label, value in {
        "1.0": 1.0, "true": True, "[1]": [1], "an object": {"id": 1}, "0": 0, "-1": -1, "'-1'": "-1",
        "2**31": 2**31, "10**30": 10**30, "' 1'": " 1", "'1e0'": "1e0", "fullwidth digit": "\uff11",
        "'0x1'": "0x1", "empty": "", "null": None}.items()},
    "type id": hs256(HS, claims(type="id")),
    "type not a string": hs256(HS, claims(type=["access"])),
    "permissions null": hs256(HS, claims(permissions=None)),
    "permissions with a number": hs256(HS, claims(permissions=["menu-csat", 1])),
    "permissions an object": hs256(HS, claims(permissions={"menu-csat": True})),
    **{f"locales {label}": hs256(HS, claims(locales=value)) for label, value in {
        "a string": "1", "[0]": [0], "[-1]": [-1], "beyond smallint": [40000], "[true]": [True],
        "nested": [[1]], "an object": {"1": 1}, "[1.5]": [1.5]}.items()},
}

HEADER_ATTACKS = {
    "two tokens": f"Bearer {VALID} {VALID}",
    # Comma-joined credentials are legal HTTP; exactly one of them may be a Bearer token.
    "a forged and a valid Bearer, comma-joined": f"Bearer {unsigned({'alg': 'none'})}, Bearer {VALID}",
    "scheme only": "Bearer",
    "JWT scheme": f"JWT {VALID}",
    "token without scheme": VALID,
    "NUL in the token": f"Bearer {_header}\x00.{_payload}.{_signature}",
    "non-ASCII in the token": f"Bearer {_header}é.{_payload}.{_signature}",
    "just under the 8 KB cap, junk": "Bearer " + "a" * 8000,
}

ENDPOINTS = {
    "read": ("GET", "/csat/agents/list", None),
    "write": ("POST", "/csat/comments", {"ratingId": MISSING_RATING, "comments": "attack"}),
}


def _send(client, endpoint, headers, query_string=None):
    method, path, body = ENDPOINTS[endpoint]
    return client.open(path, method=method, headers=headers, json=body, query_string=query_string)


def test_the_unmodified_token_is_accepted(client):
    """The baseline every attack is derived from: it works, so each refusal is the attack's."""
    assert client.get("/csat/agents/list", headers=bearer(VALID)).status_code == 200
    assert_boom(_send(client, "write", bearer(VALID)), 404, "Rating not found")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("token", HS256_ATTACKS.values(), ids=HS256_ATTACKS.keys())
def test_forged_and_malformed_tokens_are_401(client, endpoint, token):
    assert_boom(_send(client, endpoint, bearer(token)), 401)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("header", HEADER_ATTACKS.values(), ids=HEADER_ATTACKS.keys())
def test_malformed_authorization_headers_are_401(client, endpoint, header):
    assert_boom(_send(client, endpoint, {"Authorization": header}), 401)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_token_anywhere_but_the_authorization_header_is_ignored(client, endpoint):
    client.set_cookie("access_token_cookie", VALID)
    try:
        response = _send(client, endpoint, {"X-Access-Token": VALID},
                         query_string={"jwt": VALID, "access_token": VALID, "token": VALID})
    finally:
        client.delete_cookie("access_token_cookie")
    assert_boom(response, 401, "Missing or invalid token")


@pytest.fixture(scope="module")
def rsa_keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture(scope="module")
def rsa_client(shared_db, rsa_keys):
    app = create_app(make_settings(shared_db, jwt_algorithm="RS256", jwt_public_key=rsa_keys[1].decode(),
                                   jwt_secret_key=None))
    yield app.test_client()
    app.extensions["csat_db"].close()


def _rs256_attacks(private, public):
    payload = json.loads(claims())
    ec_key = ec.generate_private_key(ec.SECP256R1())
    public_jwk = json.loads(RSAAlgorithm.to_jwk(serialization.load_pem_public_key(public)))
    return {
        "valid RS256 (the baseline)": (sign(payload, key=private, algorithm="RS256"), 200),
        "PS256 with the right key": (sign(payload, key=private, algorithm="PS256"), 401),
        "RS512 with the right key": (sign(payload, key=private, algorithm="RS512"), 401),
        "ES256": (sign(payload, key=ec_key, algorithm="ES256"), 401),
        "another RSA key": (attacker_signed(), 401),
        "another RSA key, its jwk embedded": (attacker_signed(jwk=ATTACKER_JWK), 401),
        "another RSA key, kid of the real one": (attacker_signed(kid=public_jwk.get("kid", "1")), 401),
        "HS256 signed with the public key's DER bytes": (
            hs256(HS, claims(), key=serialization.load_pem_public_key(public).public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)), 401),
        "HS256 signed with the public key's JWK text": (hs256(HS, claims(), key=_json(public_jwk)), 401),
        "HS256 with the service's HS secret": (VALID, 401),
        "alg none": (unsigned({"alg": "none"}), 401),
        "RS256 header, HMAC signature": (hs256(_json({"alg": "RS256"}), claims(), key=public), 401),
        "signature stripped": (".".join(sign(payload, key=private, algorithm="RS256").split(".")[:2]) + ".",
                               401),
    }


def test_under_rs256_only_rs256_with_the_configured_key_passes(rsa_client, rsa_keys):
    attacks = _rs256_attacks(*rsa_keys)
    responses = {name: rsa_client.get("/csat/agents/list", headers=bearer(token))
                 for name, (token, _) in attacks.items()}
    assert {name: r.status_code for name, r in responses.items()} == {
        name: status for name, (_, status) in attacks.items()}
    for name, (_, status) in attacks.items():
        if status == 401:
            assert_boom(responses[name], 401)


def test_a_locale_claim_beyond_smallint_is_refused_before_any_query(client):
    """Found by this battery: `locales: [40000]` reached a smallint[] cast and answered 500."""
    token = make_token(locales=[40000])
    assert_boom(client.get("/csat/1/follow-ups", headers=bearer(token)), 401, "Invalid token claims")
