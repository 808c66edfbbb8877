"""The text summary `tfattr evaluate` prints: one line per method, its metrics then its timing,
separated only when both are there."""

from tfattr.apps import evaluate

NAME = "saliency"
RUN = {"methods": [NAME]}
LABELS = {"label": 281, "prediction": 281, "top5": [281, 282, 285, 287, 283]}


def _summary(records, seconds):
    stats = (
        evaluate.Stats().add(records, seconds=seconds, busy=1.0) if records else evaluate.Stats()
    )
    return evaluate.summary_from_stats(stats, RUN, "folder")


def _method_line(summary):
    (line,) = [line for line in evaluate.format_summary(summary).splitlines() if NAME in line]
    return line


def test_a_run_without_metrics_prints_its_timing_alone():
    summary = _summary([dict(LABELS), dict(LABELS)], {NAME: 0.194})
    assert _method_line(summary) == f"  {NAME:<22} 0.097 s/img"


def test_metrics_and_timing_are_separated_by_one_comma():
    records = [{**LABELS, f"{NAME}/deletion_auc": 0.25}, {**LABELS, f"{NAME}/deletion_auc": 0.5}]
    summary = _summary(records, {NAME: 0.194})
    stats = summary["methods"][NAME]["deletion_auc"]
    low, high = stats["ci95"]
    assert stats["mean"] == 0.375
    assert _method_line(summary) == (
        f"  {NAME:<22} deletion_auc 0.375 [{low:.3f}, {high:.3f}], 0.097 s/img"
    )


def test_a_method_with_neither_prints_its_name_alone():
    summary = _summary([], {})
    assert summary["methods"][NAME]["seconds_per_image"] is None
    assert _method_line(summary) == f"  {NAME}"
    assert evaluate.format_summary(summary).splitlines()[0] == "0 images"
