"""What crosses the wire (docs/protocol.md, docs/publishing.md): a client's frames and the server's,
the track_order request, a backend's publish, and time as the protocol writes it."""
