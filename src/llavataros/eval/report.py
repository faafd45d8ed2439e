"""Markdown tables of evaluation reports (the summaries of :mod:`llavataros.eval.evaluate`).

``metrics_table`` puts one system per row and the SPEC section 5 figures in columns;
``semantic_table`` gives recall / precision per gesture class; ``report_markdown`` renders one
evaluation (summary, classes, speed per stage, notes). Missing figures print as a dash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from llavataros.gestures.classes import CLASS_NAMES

# (summary key, column header, digits)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("fgd", "FGD", 3),
    ("beat_alignment", "BA", 3),
    ("beat_alignment_ground_truth", "BA (truth)", 3),
    ("l1_diversity", "L1 div (m)", 4),
    ("mean_jerk", "jerk (m/s^3)", 1),
    ("speed_hellinger", "wrist-speed Hellinger", 3),
    ("semantic_recall", "sem. recall", 3),
    ("semantic_precision", "sem. precision", 3),
    ("real_time_factor", "RTF", 4),
)
LEGEND = (
    "FGD: Frechet gesture distance to the real takes (lower is better). BA: beat alignment "
    "(motion beats vs audio onsets; compare with the ground truth's). L1 div: mean absolute "
    "deviation from the take's mean pose. Jerk: mean norm of the third derivative of joint "
    "positions. Hellinger: distance between wrist-speed histograms of the system and the real "
    "takes (0 = same). Semantic recall / precision: trigger words followed by the right "
    "gesture class / detected gestures matching a trigger (SPEC sections 4-5). RTF: seconds "
    "of processing per second of audio."
)


def format_value(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals; None, NaN and missing values as a dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{float(value):.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: first column left-aligned, the others right-aligned."""
    align = [":--", *["--:"] * (len(header) - 1)]
    lines = [_row(header), _row(align), *(_row(row) for row in rows)]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def metrics_table(
    summaries: Mapping[str, Mapping],
    columns: Sequence[tuple[str, str, int]] = COLUMNS,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """One row per system (``{name: summary}``) with the figures of ``columns``; ``extra``
    adds text columns ``{column: {system: text}}`` after them (e.g. training time)."""
    extra = extra or {}
    header = ["system", *(title for _, title, _ in columns), *extra]
    rows = []
    for name, summary in summaries.items():
        cells = [format_value(summary.get(key), digits) for key, _, digits in columns]
        rows.append([name, *cells, *(extra[column].get(name, "-") for column in extra)])
    return markdown_table(header, rows)


def semantic_table(summaries: Mapping[str, Mapping]) -> str:
    """Recall / precision per gesture class (``R / P``), one row per system that was scored
    on labelled takes; the last column pools all classes."""
    header = ["system", *CLASS_NAMES, "all (triggers)"]
    rows = []
    for name, summary in summaries.items():
        classes = summary.get("semantic")
        if not classes:
            continue
        cells = [_recall_precision(classes[c]) for c in CLASS_NAMES]
        overall = classes["overall"]
        cells.append(f"{_recall_precision(overall)} ({overall['triggers']})")
        rows.append([name, *cells])
    if not rows:
        return "No take has gesture labels (NAME.gestures.json): no semantic scores.\n"
    return markdown_table(header, rows)


def _recall_precision(counts: Mapping) -> str:
    return f"{format_value(counts.get('recall'), 2)} / {format_value(counts.get('precision'), 2)}"


def speed_table(summaries: Mapping[str, Mapping]) -> str:
    """Real-time factor per pipeline stage for the systems that report timings."""
    stages: list[str] = []
    for summary in summaries.values():
        for stage in summary.get("stage_real_time_factors") or {}:
            if stage not in stages:
                stages.append(stage)
    rows = [
        [name, *(format_value((s.get("stage_real_time_factors") or {}).get(t), 4) for t in stages)]
        for name, s in summaries.items()
        if s.get("stage_real_time_factors")
    ]
    if not rows:
        return "No timings (motions scored from files).\n"
    return markdown_table(["system", *stages], rows)


def report_markdown(report: Mapping) -> str:
    """One evaluation report (``{"summary": ..., "takes": [...]}``) as Markdown."""
    summary = report["summary"]
    name = summary.get("system", "system")
    parts = [
        f"## {name} on {summary.get('split')} ({summary.get('takes')} takes, "
        f"{format_value(summary.get('audio_seconds'), 1)} s of audio)\n",
        metrics_table({name: summary}),
        LEGEND + "\n",
        "### Semantic gestures per class (recall / precision)\n",
        semantic_table({name: summary}),
        "### Speed (seconds per second of audio, per stage)\n",
        speed_table({name: summary}),
        "### Notes\n",
        "".join(f"- {note}\n" for note in summary.get("notes", [])),
    ]
    return "\n".join(parts)
