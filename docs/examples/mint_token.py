"""Mint a customer token for the <order-tracker> element, as a shop's backend would (docs/client.md).

The key is the stack's signing secret (the SigningSecretArn output; read it from Secrets Manager with
the backend's role, which needs secretsmanager:GetSecretValue on it). Requires PyJWT.
"""

import os
import sys
import time

import jwt  # PyJWT


def mint_token(customer_id: str, signing_secret: str, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    claims = {
        "sub": customer_id,  # the customer whose orders the connection may track
        "iss": "order-tracking",
        "aud": "order-tracking-client",
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, signing_secret, algorithm="HS256")


if __name__ == "__main__":
    # SIGNING_SECRET=$(aws secretsmanager get-secret-value --secret-id <SigningSecretArn> \
    #   --query SecretString --output text) python mint_token.py demo
    print(mint_token(sys.argv[1], os.environ["SIGNING_SECRET"]))
