"""Live orders, published by a shop's backend: each order's event stream, the connections watching it,
the publish and its fan-out, a watch's replay, and the record of a refused publish."""
