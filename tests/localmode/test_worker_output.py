"""What a Lambda worker prints reaches local mode's console, as a function's output reaches its log,
except the handlers' metric lines (EMF), which CloudWatch would take out of the log as metrics."""

from __future__ import annotations

import io

from local.runtime.workers import _WithoutMetrics


def test_a_worker_drops_metric_lines_and_keeps_everything_else():
    out = io.StringIO()
    stream = _WithoutMetrics(out)
    print('{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"ConnectionsOpened":[1.0]}', file=stream)
    print('{"level":"INFO","message":"connected"}', file=stream)
    stream.write("a line written ")
    stream.write("in two parts\n")
    print('{"_aws":{"Timestamp":2}}', file=stream)
    assert out.getvalue() == '{"level":"INFO","message":"connected"}\na line written in two parts\n'
