"""A WebSocket connection: its admission (the authorizer's tokens), its record and current tracking
(the connections table), the move to a new tracking, and the wrapper every route handler shares."""
