// Mint a customer token for the <order-tracker> element, as a shop's backend would (docs/client.md).
// Node.js 20+, no dependency: an HS256 JWT signed with the stack's signing secret (the SigningSecretArn
// output; read it from Secrets Manager with the backend's role).
import { createHmac } from "node:crypto";

const base64url = (data) => Buffer.from(data).toString("base64url");

export function mintToken(customerId, signingSecret, ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = base64url(JSON.stringify({
    sub: customerId, // the customer whose orders the connection may track
    iss: "order-tracking",
    aud: "order-tracking-client",
    iat: now,
    exp: now + ttlSeconds,
  }));
  const signature = createHmac("sha256", signingSecret).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // SIGNING_SECRET=$(aws secretsmanager get-secret-value --secret-id <SigningSecretArn> \
  //   --query SecretString --output text) node mint-token.mjs demo
  console.log(mintToken(process.argv[2], process.env.SIGNING_SECRET));
}
