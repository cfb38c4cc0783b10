"""What every invocation has: its settings (read from the environment the stack sets, checked at the
first invocation), its time budget (deadline), and its logger and metrics (Powertools)."""
