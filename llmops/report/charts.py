"""Inline SVG charts: one per metric, a row per variant (grouped by dataset), with 95% CI whiskers.

Plain SVG with no script, so the report opens offline in any browser and in a mail or CI viewer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from llmops.report import formatting as fmt
from llmops.report.comparison import MetricComparison, VariantFigure

WIDTH = 600  # two charts side by side on a laptop screen
LABEL_WIDTH = 250  # variant labels such as "summarize_text_content.variant_1 ★ best"
VALUE_WIDTH = 50
PLOT_LEFT = LABEL_WIDTH + 10
PLOT_RIGHT = WIDTH - VALUE_WIDTH - 10
ROW_HEIGHT = 26
HEADING_HEIGHT = 22
AXIS_HEIGHT = 28
TOP = 8
BAR_HEIGHT = 14
MAX_LABEL_CHARS = 36  # what LABEL_WIDTH holds at 12px, the marks included

COLOURS = {"baseline": "#8a94a6", "best": "#2f855a", "other": "#4a78c2"}


@dataclass(frozen=True)
class Scale:
    low: float
    high: float

    def x(self, value: float) -> float:
        share = (min(max(value, self.low), self.high) - self.low) / (self.high - self.low)
        return PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT)

    def ticks(self) -> list[float]:
        step = _nice_step((self.high - self.low) / 5)
        first = math.ceil(self.low / step - 1e-9) * step
        count = int(math.floor((self.high - first) / step + 1e-9)) + 1
        return [round(first + i * step, 10) for i in range(count)]


def metric_chart(groups: Sequence[MetricComparison], best: Mapping[str, str]) -> Markup:
    """One chart for one metric of one evaluation flow; `groups` are its comparisons per dataset."""
    metric, eval_flow = groups[0].metric, groups[0].eval_flow
    scale = _scale([f for g in groups for f in g.variants])
    show_headings = len(groups) > 1
    parts: list[str] = []
    y = TOP
    for group in groups:
        if show_headings:
            parts.append(f'<text class="dataset" x="4" y="{y + 15}">dataset {escape(group.dataset)}</text>')
            y += HEADING_HEIGHT
        for figure in group.variants:
            parts.append(_row(figure, group.dataset, figure.label == best.get(group.dataset), scale, y))
            y += ROW_HEIGHT
    parts.insert(0, _axis(scale, y))  # first, so grid lines sit behind the bars
    height = y + AXIS_HEIGHT
    title = f"{metric} ({eval_flow}) per variant, with 95% confidence intervals"
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" data-metric="{escape(metric)}" data-eval-flow="{escape(eval_flow)}">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _row(figure: VariantFigure, dataset: str, is_best: bool, scale: Scale, y: float) -> str:
    role = "best" if is_best else "baseline" if figure.run.is_baseline else "other"
    marks = (" (baseline)" if figure.run.is_baseline else "") + (" ★ best" if is_best else "")
    label = _shorten(figure.label, MAX_LABEL_CHARS - len(marks))
    middle = y + ROW_HEIGHT / 2
    attributes = (
        f'class="variant {role}" data-variant="{escape(figure.label)}" data-dataset="{escape(dataset)}"'
    )
    parts = [
        f"<g {attributes}><title>{escape(_tooltip(figure))}</title>",
        f'<text class="label" x="{LABEL_WIDTH}" y="{middle + 4}" text-anchor="end">'
        f'{escape(label)}<tspan class="mark">{escape(marks)}</tspan></text>',
    ]
    if figure.value is None:
        parts.append(f'<text class="missing" x="{PLOT_LEFT + 4}" y="{middle + 4}">missing</text></g>')
        return "".join(parts)
    # Bars grow from 0 when 0 is on the axis (negative values grow left), else from the axis start.
    origin = min(max(0.0, scale.low), scale.high)
    start, end = sorted((scale.x(origin), scale.x(figure.value)))
    top, width = middle - BAR_HEIGHT / 2, max(end - start, 1.0)
    parts.append(
        f'<rect class="bar" x="{start:.1f}" y="{top:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" '
        f'fill="{COLOURS[role]}" rx="2"/>'
    )
    estimate = figure.estimate
    if estimate.ci_low is not None and estimate.ci_high is not None:
        low, high = scale.x(estimate.ci_low), scale.x(estimate.ci_high)
        parts.append(
            f'<g class="whisker"><line x1="{low:.1f}" x2="{high:.1f}" y1="{middle}" y2="{middle}"/>'
            f'<line x1="{low:.1f}" x2="{low:.1f}" y1="{middle - 5}" y2="{middle + 5}"/>'
            f'<line x1="{high:.1f}" x2="{high:.1f}" y1="{middle - 5}" y2="{middle + 5}"/></g>'
        )
    parts.append(f'<circle class="point" cx="{scale.x(figure.value):.1f}" cy="{middle}" r="3.5"/>')
    parts.append(
        f'<text class="value" x="{PLOT_RIGHT + 8}" y="{middle + 4}">{fmt.number(figure.value)}</text></g>'
    )
    return "".join(parts)


def _axis(scale: Scale, y: float) -> str:
    parts = [f'<g class="axis"><line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y + 2}" y2="{y + 2}"/>']
    for tick in scale.ticks():
        x = scale.x(tick)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{y + 6}"/>'
            f'<text x="{x:.1f}" y="{y + 20}" text-anchor="middle">{_tick_label(tick)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _scale(figures: Sequence[VariantFigure]) -> Scale:
    values = [f.value for f in figures if f.value is not None]
    values += [b for f in figures for b in (f.estimate.ci_low, f.estimate.ci_high) if b is not None]
    if not values:
        return Scale(0.0, 1.0)
    low, high = min(0.0, *values), max(values)
    if low >= 0.0 and high <= 1.0:
        return Scale(0.0, 1.0)  # proportions and scores in [0, 1] keep the whole range for honesty
    step = _nice_step((high - low) / 5 or 1.0)
    return Scale(math.floor(low / step) * step, math.ceil(high / step) * step or step)


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least `raw`."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)


def _tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.1e}"


def _tooltip(figure: VariantFigure) -> str:
    estimate = figure.estimate
    text = f"{figure.label}: {fmt.number(figure.value)}"
    if estimate.ci_low is not None:
        text += f", 95% CI {fmt.interval(estimate.ci_low, estimate.ci_high)}, n={estimate.n}"
    elif estimate.note:
        text += f" ({estimate.note})"
    return text


def _shorten(label: str, limit: int) -> str:
    """Cut from the middle: both the node (head) and the variant id (tail) tell variants apart."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head) :]
