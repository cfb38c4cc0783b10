"""$connect authorizer (REQUEST, identity source `route.request.querystring.token`).

The stack picks the kind of token: its own HS256 tokens, or (with OIDC_ISSUER set) RS256 ID tokens
of an OIDC issuer such as Cognito. A valid token admits the connection and passes the customer id to every route in
`requestContext.authorizer.customerId`; anything else is refused with 401 before $connect runs.
Neither the token nor the secret is ever logged.

The event and the answer are Powertools' data classes for a REQUEST authorizer and its WebSocket
policy: the policy allows exactly the $connect route of this API and stage.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponseWebSocket,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from order_tracking import settings, tokens
from order_tracking.observability import logger
from order_tracking.settings import TokenSettings

SETTINGS = (TokenSettings,)


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    settings.load_all(SETTINGS)
    token = (event.get("queryStringParameters") or {}).get("token")  # absent: API Gateway refuses before this runs
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
    policy = APIGatewayAuthorizerResponseWebSocket.from_route_arn(event.method_arn, customer_id, {"customerId": customer_id})
    policy.allow_route("$connect")
    return policy.asdict()
