"""A simulated (seed) order's tracking: the trackings table, its send lease, and its life from start to
end (the first event at once, the rest paced by the state machine's emits, resume, fence)."""
