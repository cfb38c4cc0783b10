"""What stands in for AWS on a laptop: one module per stand-in, wired by `python -m local run`."""
