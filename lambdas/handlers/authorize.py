"""$connect authorizer (REQUEST, identity source `route.request.querystring.token`).

The stack picks the kind of token: its own HS256 tokens, or (with OIDC_ISSUER set) RS256 ID tokens
of an OIDC issuer such as Cognito. A valid token admits the connection and passes the customer id to every route in
`requestContext.authorizer.customerId`; anything else is refused with 401 before $connect runs.
Neither the token nor the secret is ever logged.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from order_tracking import settings, tokens
from order_tracking.observability import logger
from order_tracking.settings import TokenSettings

SETTINGS = (TokenSettings,)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings.load_all(SETTINGS)
    token = (event.get("queryStringParameters") or {}).get("token")
    config = settings.load(TokenSettings)
    try:
        if config.oidc is not None:
            jwks = tokens.jwks_client(config.oidc.jwks_url)
            customer_id = tokens.customer_of_oidc(token, config.oidc.issuer, config.oidc.audience, jwks)
        else:
            customer_id = tokens.customer_of(token, tokens.signing_secret())
    except tokens.TokenRefused as refused:
        logger.info("token refused", extra={"reason": refused.reason})
        raise Exception("Unauthorized") from None  # API Gateway answers the handshake with 401
    logger.info("token accepted", extra={"customer_id": customer_id})
    return {
        "principalId": customer_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        "context": {"customerId": customer_id},
    }
