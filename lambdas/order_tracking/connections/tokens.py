"""Customer tokens, checked by the $connect authorizer (PyJWT). Two kinds, chosen by the stack:

- HS256 tokens signed with the stack's own key (Secrets Manager generates it; handlers get only its
  id), issued by `make token`;
- RS256 ID tokens of an OIDC issuer (Cognito or any other), verified against the issuer's JWKS.

Either way `exp`, `sub` (the customer id), `iss` and `aud` are required and must match; clocks may
differ by LEEWAY_SECONDS; any other algorithm, `none` included, is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jwt

from order_tracking.aws import clients

ALGORITHM = "HS256"
ISSUER = "order-tracking"
AUDIENCE = "order-tracking-client"
LEEWAY_SECONDS = 30
SECRET_CACHE_SECONDS = 300


class TokenRefused(Exception):
    """The token does not admit anyone; `reason` is safe to log (it never contains the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def customer_of(token: str | None, secret: str) -> str:
    """The customer id a valid token names, or TokenRefused."""
    return _verified(token, lambda: secret, ALGORITHM, AUDIENCE, ISSUER)


def customer_of_oidc(token: str | None, issuer: str, audience: str, jwks: jwt.PyJWKClient) -> str:
    """The customer id (`sub`) of a valid RS256 ID token from `issuer`, or TokenRefused."""
    return _verified(token, lambda: jwks.get_signing_key_from_jwt(token or "").key, "RS256", audience, issuer)


def _verified(token: str | None, key_of: Callable[[], Any], algorithm: str, audience: str, issuer: str) -> str:
    """The `sub` of a token signed with `algorithm` by the key `key_of()` gives, or TokenRefused."""
    if not token:
        raise TokenRefused("no token")
    try:
        claims = jwt.decode(
            token,
            key_of(),
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise TokenRefused(type(error).__name__) from None
    customer = claims["sub"]
    if not isinstance(customer, str) or not 0 < len(customer) <= 128:
        raise TokenRefused("bad subject")
    return customer


JWKS_TIMEOUT_SECONDS = 2  # per fetch of the key set; an unknown kid fetches it once more (two at most)


@lru_cache(maxsize=4)
def jwks_client(url: str) -> jwt.PyJWKClient:
    """One key set client per URL and process: keys are fetched once and cached (and re-fetched for an unknown kid)."""
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=JWKS_TIMEOUT_SECONDS)


def mint(customer_id: str, secret: str, ttl_seconds: int = 3600, not_before: int | None = None) -> str:
    """A token for `customer_id` (the token command and local mode use this)."""
    now = int(time.time())
    claims = {"sub": customer_id, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_seconds}
    if not_before is not None:
        claims["nbf"] = not_before
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def signing_secret(secret_id: str) -> str:
    """The secret `secret_id` names, read at most once per SECRET_CACHE_SECONDS (a rotated secret is
    picked up within that time)."""
    return str(clients.secrets().get(secret_id, max_age=SECRET_CACHE_SECONDS))
