"""Checks AWS Signature Version 4 on requests that reach local mode, as AWS does before anything else:
who signed (the access key), that the signature is right for that key's secret, and that it is fresh.

The canonical request is rebuilt from what arrived on the wire with botocore's own SigV4 signer, so
any AWS SDK or CLI signing with local mode's credentials is accepted, and nothing else is.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<headers>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_SKEW = timedelta(minutes=5)  # AWS refuses a signature more than 5 minutes from its own clock


@dataclass(frozen=True)
class SignedRequest:
    """A request as it arrived: method, the path and query exactly as sent, headers (names lower case);
    `path` and `query` as the server routes on them (the path percent-decoded once)."""

    method: str
    target: str  # path?query, percent-encoding as on the wire
    headers: dict[str, str]
    body: bytes
    path: str = ""
    query: str = ""

    @classmethod
    def from_wsgi(cls, environ: dict[str, Any]) -> SignedRequest:
        """The request a WSGI app was given. Its body is read and put back, so the app after this one
        can read it too."""
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path, query = environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
        return cls(environ.get("REQUEST_METHOD", "GET"), target, headers, body, path, query)


class SignatureRefused(Exception):
    """`code` is the error type AWS answers with (as in x-amzn-ErrorType), `message` its text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def verify(
    request: SignedRequest, secret_of: dict[str, str] | None = None, *, secret: str | None = None, service: str | None = None
) -> str:
    """The access key that signed `request`, or SignatureRefused. `secret_of` maps access keys to secrets;
    `service`: the signing name its credential scope must name (the service the request is routed to)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        raise SignatureRefused("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = AUTHORIZATION.match(authorization.strip())
    if match is None:
        raise SignatureRefused("IncompleteSignatureException", "Authorization header requires a valid SigV4 signature.")
    key = match.group("key")
    if service is not None and match.group("service") != service:
        raise SignatureRefused("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    known = secret if secret is not None else (secret_of or {}).get(key)
    if known is None:
        raise SignatureRefused("UnrecognizedClientException", "The security token included in the request is invalid.")
    signed = match.group("headers").split(";")
    if "host" not in signed:
        raise SignatureRefused("IncompleteSignatureException", "'Host' must be a signed header.")
    stamp = request.headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused("IncompleteSignatureException", "X-Amz-Date must be a signed ISO 8601 timestamp.") from None
    if "x-amz-date" not in signed or stamp[:8] != match.group("date"):
        raise SignatureRefused("IncompleteSignatureException", "X-Amz-Date must be signed and match the credential scope.")
    now = datetime.now(UTC)
    if abs(now - when) > MAX_SKEW:
        raise SignatureRefused(
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier than {(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')}",
        )
    content_hash = request.headers.get("x-amz-content-sha256")
    if content_hash and content_hash != hashlib.sha256(request.body).hexdigest():
        raise SignatureRefused("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match.")
    scope = (key, known, match.group("region"), match.group("service"), stamp)
    expected = _signature(request, signed, scope)
    if not hmac.compare_digest(expected, match.group("signature")):
        raise SignatureRefused(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return key


def _signature(request: SignedRequest, signed: list[str], scope: tuple[str, str, str, str, str]) -> str:
    key, secret, region, service, stamp = scope
    headers = {name: request.headers.get(name, "") for name in signed}
    aws_request = AWSRequest(
        method=request.method, url=f"http://{headers['host']}{request.target}", headers=headers, data=request.body
    )
    aws_request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(key, secret), service, region)
    canonical = signer.canonical_request(aws_request)
    return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))
