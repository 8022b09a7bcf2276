"""Geometry for the board's bar charts, drawn as inline SVG by the templates (no JavaScript).

Every number the SVG needs is worked out here, so the template only prints them (no arithmetic or
counting filters per bar: the board re-renders every 30 seconds)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    show_label: bool = True  # the hour under the bar (every other one when bars are narrow)

    @property
    def cx(self):
        return round(self.x + self.width / 2, 1)

    @property
    def end(self):
        return round(self.x + self.width, 1)


def nice_max(value):
    """A round top for the axis (1, 2, 5, 10, 20, 50, ...) so gridlines land on whole numbers."""
    top = 1
    while top < value:
        top = {"1": 2, "2": 5 / 2, "5": 2}[str(top)[0]] * top
        top = int(top)
    return top


def hourly_chart(series, *, width=640, height=230, left=40, bottom=34, top=18):
    """Vertical bars, one per hour: {"bars", "gridlines", "width", "height", ...}."""
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = nice_max(max((p["n"] for p in series), default=0) or 1)
    slot = plot_w / max(len(series), 1)
    # Every other hour label when the bars get narrow, so labels never overlap.
    label_every = 1 if slot >= 28 else 2 if slot >= 14 else 3
    bars = []
    for i, point in enumerate(series):
        h = plot_h * point["n"] / peak
        bars.append(Bar(
            x=round(left + i * slot + slot * 0.15, 1), y=round(top + plot_h - h, 1),
            width=round(slot * 0.7, 1), height=round(h, 1), value=point["n"], label=point["hour"].strftime("%H"),
            show_label=i % label_every == 0,
        ))
    gridlines = [
        {"y": round(top + plot_h - plot_h * v / peak, 1), "value": v} for v in _ticks(peak)
    ]
    return {
        "bars": bars, "gridlines": gridlines, "width": width, "height": height, "left": left,
        "axis_x": left - 6, "baseline": top + plot_h, "label_y": top + plot_h + 22,
        "total": sum(p["n"] for p in series), "right": width - 8,
    }


def packer_chart(rows, *, width=560, bar_height=28, gap=10, left=150):
    """Horizontal bars, one per packer, busiest on top."""
    peak = nice_max(max((r["n"] for r in rows), default=0) or 1)
    plot_w = width - left - 50
    bars = [
        Bar(x=left, y=i * (bar_height + gap), width=round(max(plot_w * r["n"] / peak, 2), 1), height=bar_height,
            value=r["n"], label=r["packer"])
        for i, r in enumerate(rows)
    ]
    return {"bars": bars, "width": width, "height": max(len(rows), 1) * (bar_height + gap), "left": left,
            "name_x": left - 10, "bar_height": bar_height, "text_dy": bar_height / 2 + 6}


def _ticks(peak):
    # peak is 1, 2, 5, 10, 20, 50, ...: quarters of a 2x top and fifths of the others are whole numbers.
    if peak <= 2:
        step = 1
    else:
        step = peak // 4 if str(peak)[0] == "2" else peak // 5
    return list(range(0, peak + 1, step))
