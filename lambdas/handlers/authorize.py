"""$connect authorizer (REQUEST, identity source `route.request.querystring.token`).

The stack picks the kind of token: its own HS256 tokens, or (with OIDC_ISSUER set) RS256 ID tokens
of an OIDC issuer such as Cognito. A valid token admits the connection and passes the customer id to
every route in `requestContext.authorizer.customerId`; anything else is refused before $connect runs,
with a policy that denies $connect (API Gateway answers the handshake 403; a request without a token
never reaches this function: 401). Neither the token nor the secret is ever logged.

A refusal is this function doing its job, not a failure: it returns a Deny policy and counts
ConnectionsUnauthorized, so Lambda's Errors metric (and the AuthorizerErrors alarm) counts only real
failures, such as a crash or an unreadable secret. (Raising "Unauthorized", which API Gateway answers
401, would be a function error: every expired or forged token would page the operator.)

The authorizer runs at every handshake, so its cold start is on the path of every new connection:
- With its own HS256 tokens it needs no `cryptography`, but PyJWT imports it whenever it can find it,
  and the Powertools layer brings it: about 35 ms of every cold start. So it is made unfindable (None
  in sys.modules: the import fails as for a package that is not there). With OIDC it is needed, and
  its layer is added (infra/authentication.py). Bundling Powertools into the asset instead of taking
  the layer was slower: an asset holds no bytecode for the runtime's Python, so Lambda would compile
  every module of Powertools at each cold start (docs/performance.md).
- The event and the policy are plain dicts, not Powertools' data classes: importing one imports the
  whole `data_classes` package, about 40 ms. The policy allows, or denies, exactly the $connect route
  of this API and stage: the method ARN API Gateway gives.
"""

import os
import sys

# In a Lambda environment (AWS_LAMBDA_FUNCTION_NAME: Lambda sets it, and local mode's workers), not in
# a process that imports this module among others (the tests), which may need cryptography.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and not os.environ.get("OIDC_ISSUER"):  # OIDC_ISSUER: settings.Env
    sys.modules.setdefault("cryptography", None)  # type: ignore[arg-type]

from typing import Any  # noqa: E402 - after the line above, which must come before PyJWT is imported

from order_tracking.connections import tokens  # noqa: E402
from order_tracking.runtime import deadline, settings  # noqa: E402
from order_tracking.runtime.observability import Metric, count, logger, metrics  # noqa: E402
from order_tracking.runtime.settings import TokenSettings  # noqa: E402

SETTINGS = (TokenSettings,)
REFUSED_PRINCIPAL = "unauthorized"


def policy(method_arn: str, principal: str, effect: str, context: dict[str, str] | None = None) -> dict[str, Any]:
    """An authorizer's answer: `effect` (Allow or Deny) of execute-api:Invoke on this $connect route."""
    answer: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": [method_arn]}],
        },
    }
    if context:
        answer["context"] = context
    return answer


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deadline.start(context)
    settings.load_all(SETTINGS)
    token = (event.get("queryStringParameters") or {}).get("token")  # absent: API Gateway refuses before this runs
    config = settings.load(TokenSettings)
    try:
        if config.oidc is not None:
            jwks = tokens.jwks_client(config.oidc.jwks_url)
            customer_id = tokens.customer_of_oidc(token, config.oidc.issuer, config.oidc.audience, jwks)
        else:
            customer_id = tokens.customer_of(token, tokens.signing_secret(config.signing_secret_id))
    except tokens.TokenRefused as refused:
        logger.info("token refused", extra={"reason": refused.reason})
        count(Metric.CONNECTIONS_UNAUTHORIZED)
        return policy(event["methodArn"], REFUSED_PRINCIPAL, "Deny")
    logger.info("token accepted", extra={"customer_id": customer_id})
    return policy(event["methodArn"], customer_id, "Allow", {"customerId": customer_id})
