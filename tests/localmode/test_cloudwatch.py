"""Local mode's CloudWatch (local/aws/cloudwatch.py) evaluates the template's alarms as CloudWatch does:
read off the synthesized stack with every metric resolved to local names, statistics over a sliding
window, the metric math the stack uses, thresholds and missing data."""

from __future__ import annotations

import json
import time

import pytest

from local.aws.cloudwatch import (
    AlarmSpec,
    MetricStat,
    MetricStore,
    alarms_of,
    evaluate_expression,
    metric_key,
    new_state,
    value_of,
)


def by_name(stack, fragment: str) -> AlarmSpec:
    (spec,) = [a for a in alarms_of(stack) if fragment in a.name]
    return spec


def test_every_alarm_of_the_template_is_read_with_local_names(stack):
    alarms = alarms_of(stack)
    assert len(alarms) == len([r for r in stack.resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"])
    (topic,) = stack.topics()
    assert all(a.actions == [f"arn:aws:sns:us-east-1:123456789012:{topic}"] for a in alarms)
    route = by_name(stack, "RouteErrors")
    assert route.metric == MetricStat(metric_key("OrderTracking/dev", "Errors", {"service": "order-tracking"}), "Sum", 300)
    track = by_name(stack, "TrackOrderErrors")
    function = next(f.name for f in stack.functions().values() if f.handler == "handlers.track_order.handler")
    assert track.metric is not None and track.metric.key == metric_key("AWS/Lambda", "Errors", {"FunctionName": function})
    dead = by_name(stack, "DeadLetters")
    assert dead.metric is not None and dead.metric.stat == "Maximum"
    assert dict(dead.metric.key[2]) == {"QueueName": next(q for q in stack.queues() if q.startswith("FailedTrackings"))}
    throttles = by_name(stack, "LambdaThrottles")
    assert throttles.expression is not None and throttles.expression.startswith("SUM([")
    assert len(throttles.queries) == len(stack.functions())


def test_statistics_over_a_sliding_window():
    store = MetricStore()
    key = metric_key("N", "m", {"d": "1"})
    now = time.time()
    for age, value in ((400, 9), (200, 1), (100, 3), (10, 2)):
        store.add("N", "m", {"d": "1"}, value, at=now - age)
    assert store.statistic(key, "Sum", now - 300) == 6  # the point 400 s old is out of a 5-minute window
    assert store.statistic(key, "Maximum", now - 300) == 3
    assert store.statistic(key, "SampleCount", now - 300) == 3
    assert store.statistic(key, "Average", now - 300) == 2
    assert store.statistic(key, "Sum", now - 5) is None  # no data
    assert store.statistic(metric_key("N", "m", {"d": "2"}), "Sum", now - 300) is None  # other dimensions


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("SUM([a,b,c])", {"a": 1.0, "b": None, "c": 2.0}, 3.0),
        ("SUM([a,b])", {"a": None, "b": None}, None),
        ("a + b + c", {"a": 1.0, "b": 2.0, "c": 3.0}, 6.0),
        ("a + b", {"a": 1.0, "b": None}, None),
        ("FILL(a, 0) + b", {"a": None, "b": 2.0}, 2.0),
        ("a / b * 100", {"a": 1.0, "b": 4.0}, 25.0),
    ],
)
def test_the_metric_math_the_stack_uses(expression, values, expected):
    assert evaluate_expression(expression, values) == expected


def test_metric_math_refuses_anything_else():
    with pytest.raises(ValueError, match="not emulated"):
        evaluate_expression("__import__('os')", {})
    with pytest.raises(ValueError, match="not emulated"):
        evaluate_expression("ANOMALY_DETECTION_BAND(a)", {"a": 1.0})


def test_thresholds_and_missing_data_as_cloudwatch_words_them(stack):
    route = by_name(stack, "RouteErrors")
    state, reason = new_state(route, 2.0)
    assert state == "ALARM" and reason.startswith("Threshold Crossed: 1 datapoint [2 (")
    assert reason.endswith("was greater than or equal to the threshold (1).")
    assert new_state(route, 0.0)[0] == "OK"
    assert new_state(route, None) == ("OK", "no datapoints: treated as not breaching")  # notBreaching
    store = MetricStore()
    store.add("OrderTracking/dev", "Errors", {"service": "order-tracking"}, 1)
    assert value_of(route, store, time.time()) == 1
    throttles = by_name(stack, "LambdaThrottles")
    function = next(iter(stack.functions().values())).name
    store.add("AWS/Lambda", "Throttles", {"FunctionName": function}, 2)
    assert value_of(throttles, store, time.time()) == 2


def test_a_handlers_emf_line_feeds_the_store(stack):
    from local.aws.cloudwatch import LocalCloudWatch
    from local.console.lines import Console

    watch = LocalCloudWatch(stack, lambda service: None, Console(quiet=True), sample_queues=dict, finished_executions=list)
    directive = {"Namespace": "OrderTracking/dev", "Dimensions": [["service"]], "Metrics": [{"Name": "Errors"}]}
    line = json.dumps(
        {
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]},
            "service": "order-tracking",
            "Errors": [1.0, 1.0],
        }
    )
    watch.record_emf(line)
    assert value_of(by_name(stack, "RouteErrors"), watch.store, time.time()) == 2


def test_a_publish_failure_record_pages_when_it_waits_a_whole_period_not_when_it_is_read_within_minutes(stack):
    """The smoke check's own refused publish is on the queue for seconds; a real one waits for someone."""
    alarm = by_name(stack, "PublishFailures")
    assert alarm.metric is not None and (alarm.metric.stat, alarm.metric.period) == ("Minimum", 300)
    queue = dict(alarm.metric.key[2])["QueueName"]
    now = time.time()

    def sampled(visible_at_age: dict[int, int]) -> MetricStore:
        store = MetricStore()
        for age in range(290, -1, -10):  # local mode samples every 10 s
            store.add(
                "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}, visible_at_age.get(age, 0), at=now - age
            )
        return store

    read_in_seconds = sampled({30: 1})
    assert new_state(alarm, value_of(alarm, read_in_seconds, now))[0] == "OK"
    waiting = sampled(dict.fromkeys(range(0, 300, 10), 1))
    assert new_state(alarm, value_of(alarm, waiting, now))[0] == "ALARM"
    arrived_a_minute_ago = sampled(dict.fromkeys(range(0, 60, 10), 1))
    assert new_state(alarm, value_of(alarm, arrived_a_minute_ago, now))[0] == "OK"  # pages once it has waited a period
