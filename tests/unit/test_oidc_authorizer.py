"""The authorizer in OIDC mode: RS256 ID tokens of an issuer, verified against its JWKS (served here
by a local HTTP server, as Cognito serves /.well-known/jwks.json)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from handlers import authorize
from order_tracking.aws import clients as aws_clients
from order_tracking.runtime import settings

from tests.support.events import websocket_event
from tests.unit.conftest import LambdaContextStub
from tests.unit.test_authorizer import assert_refused

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
AUDIENCE = "app-client-123"
KID = "key-1"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY, IMPOSTOR_KEY = _key(), _key()


@pytest.fixture(scope="module")
def jwks_url():
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


@pytest.fixture
def oidc(jwks_url, monkeypatch):
    """The authorizer's environment as the stack sets it with oidcIssuer (the signing key's id stays set)."""
    monkeypatch.setenv("SIGNING_SECRET_ID", "arn:aws:secretsmanager:us-east-1:123456789012:secret:unused-with-oidc")
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("OIDC_JWKS_URL", jwks_url)
    aws_clients.reset()
    settings.reset()
    yield
    aws_clients.reset()
    settings.reset()


def _token(key=SIGNING_KEY, kid=KID, algorithm="RS256", **changes):
    now = int(time.time())
    claims = {"sub": "cognito-user-1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, **changes}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def _authorize(token):
    event = websocket_event("$connect", "conn-oidc")
    event.update({"type": "REQUEST", "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/dev/$connect"})
    event["queryStringParameters"] = {"token": token}
    return authorize.handler(event, LambdaContextStub())


def test_an_id_token_of_the_issuer_admits_its_subject(oidc):
    assert _authorize(_token())["context"] == {"customerId": "cognito-user-1"}


PUBLIC_PEM = SIGNING_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize(
    "token",
    [
        _token(aud="another-client"),
        _token(iss="https://evil.example"),
        _token(exp=int(time.time()) - 300),
        _token(key=IMPOSTOR_KEY),
        _token(kid="unknown-key"),
        jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}, None, algorithm="none"),
    ],
    ids=["wrong-audience", "wrong-issuer", "expired", "wrong-key", "unknown-kid", "alg-none"],
)
def test_other_tokens_are_refused(oidc, token):
    assert_refused(_authorize(token))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_algorithm_confusion_with_the_public_key_is_refused(oidc):
    """The classic forgery: HS256 "signed" with the issuer's public key, which anyone can fetch."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    payload = _b64(json.dumps({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}).encode())
    signature = _b64(hmac.new(PUBLIC_PEM, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert_refused(_authorize(f"{header}.{payload}.{signature}"))
