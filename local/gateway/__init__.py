"""API Gateway's WebSocket API on one port (the handshake, routes and integrations, connection limits,
the @connections management API), its HTTP front (heads, bodies, half-open connections), and the static
host of the client."""
