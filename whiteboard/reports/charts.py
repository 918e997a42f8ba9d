"""Charts as PNG or SVG images that can be pasted into a board paper.

matplotlib with the Agg backend: renders on a server with no display, writes both PNG and SVG,
and is the long-maintained standard. Figures are built with ``matplotlib.figure.Figure``
directly (not pyplot) so there is no global figure state shared between request threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a server; harmless if already set

from matplotlib.figure import Figure

BAR = "#1d4ed8"
TARGET = "#b91c1c"
SECOND = "#6b7280"


def _render(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120 if fmt == "png" else None, bbox_inches="tight")
    return buffer.getvalue()


def _figure(title: str) -> tuple[Figure, object]:
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb")
    ax.set_axisbelow(True)
    return fig, ax


def percent_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    targets: Sequence[tuple[str, float]],
    fmt: str,
) -> bytes:
    """Bars of a percentage per period, with horizontal target lines."""
    fig, ax = _figure(title)
    xs = range(len(labels))
    ax.bar(xs, [v if v is not None else 0 for v in values], color=BAR, label="actual")
    for (name, value), style in zip(targets, ("--", ":"), strict=False):
        ax.axhline(value, color=TARGET, linestyle=style, linewidth=1.5, label=f"{name} {value:g}%")
    ax.set_ylim(0, 100)
    ax.set_ylabel("%")
    _xticks(ax, labels)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return _render(fig, fmt)


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], ylabel: str, fmt: str
) -> bytes:
    fig, ax = _figure(title)
    ax.bar(range(len(labels)), values, color=BAR)
    ax.set_ylabel(ylabel)
    _xticks(ax, labels)
    return _render(fig, fmt)


def grouped_bar_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    ylabel: str,
    fmt: str,
) -> bytes:
    """Side-by-side bars per label, one colour per series, with a legend (e.g. patients and
    patients with open alerts per nurse)."""
    fig, ax = _figure(title)
    width = 0.8 / max(1, len(series))
    colours = (BAR, TARGET, SECOND)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(xs, values, width=width, color=colours[i % len(colours)], label=name)
    ax.set_ylabel(ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(-0.6, max(len(labels), 8) - 0.4)  # a few people still get narrow bars
    ax.set_xticks(range(len(labels)))  # every name: a person's bar must say whose it is
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    if labels:
        ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9)
    else:
        ax.text(0.5, 0.5, "Nobody to show", transform=ax.transAxes, ha="center", va="center")
    return _render(fig, fmt)


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    ceiling: float | None,
    ylabel: str,
    fmt: str,
) -> bytes:
    fig, ax = _figure(title)
    ax.plot(range(len(labels)), values, color=BAR, marker="o", markersize=3, label="occupied")
    if ceiling is not None:
        ax.axhline(ceiling, color=SECOND, linestyle="--", linewidth=1.2, label=f"beds {ceiling:g}")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    _xticks(ax, labels)
    return _render(fig, fmt)


def _xticks(ax: object, labels: Sequence[str]) -> None:
    step = max(1, len(labels) // 14)
    ax.set_xticks(range(0, len(labels), step))  # type: ignore[attr-defined]
    ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=8)  # type: ignore[attr-defined]
