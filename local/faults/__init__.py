"""Fault injection for the tests (off unless a test asks): the plan of what fails how often, and the
hooks on the gateway's port that set it or cause an outage, for the holder of the run's fault token."""
