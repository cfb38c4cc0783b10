"""`python -m local`: its options, the wiring of a running local mode (run.py), the reload of edits,
tokens for people, the record of where it runs (running.py), and a launcher for tests and benchmarks."""
