"""Getting frames to connections in order: the lease that lets one holder at a time post what a write
stored (one value type and one set of conditions for trackings, live orders and watchers alike), its
waits, and the post itself through API Gateway's connection management API."""
