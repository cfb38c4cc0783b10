"""The orders table as track_order reads it: each order's kind (simulated or live), owner and events."""
