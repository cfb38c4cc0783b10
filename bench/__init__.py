"""Benchmarks, not tests (`make bench`). Run directly (`python -m bench.cost`), a benchmark gets the
environment the Makefile sets for every command: jsii's Node banner silenced, no EC2 metadata lookups."""

import os

from local.template.synth import SYNTH_ENV

for _name, _value in SYNTH_ENV.items():
    os.environ.setdefault(_name, _value)
