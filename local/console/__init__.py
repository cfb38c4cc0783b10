"""The console's log lines: one per connect, route, emit, publish, alarm and disconnect, with every
control character a client could send escaped."""
