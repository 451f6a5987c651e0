"""Inline SVG charts and maps for the factscan pages: pure Python, no JavaScript, no external files.

Every bar, segment and map cell carries ``data-figure-id`` and an SVG ``<title>`` (the tooltip) with its source
note, so a reader can hover a number and an auditor can trace it (``wup trace <figure-id>``). Maps draw in the
Dutch RD grid (EPSG:28992, metres): x to the right, y up, so y is flipped for the screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

# EU energy label colours as used on Dutch label certificates
LABEL_COLOURS = {"A": "#009036", "B": "#55ab26", "C": "#c8d200", "D": "#ffed00", "E": "#fbba00", "F": "#eb6909",
                 "G": "#e2001a"}
OWNER_COLOURS = {"owner_occupied": "#2f6f9f", "private_rent": "#e09a2c", "corporation": "#7b4fa0"}
NO_DATA = "#c9d1d8"
INK = "#1d2a35"
MUTED = "#5b6b78"
BAR = "#2f6f9f"
# light to dark, for shares and scores (ColorBrewer OrRd and GnBu, 5 classes)
SEQUENTIAL_RED = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")
SEQUENTIAL_BLUE = ("#f0f9e8", "#bae4bc", "#7bccc4", "#43a2ca", "#0868ac")

Ring = Sequence[tuple[float, float]]
Polygon = Sequence[Ring]  # exterior ring, then holes


def _attr(text: str) -> str:
    return escape(text, quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    display: str  # the value as the reader sees it
    figure_id: str | None = None
    note: str = ""
    colour: str = BAR


def _figure_attrs(figure_id: str | None) -> str:
    return f' data-figure-id="{_attr(figure_id)}"' if figure_id else ""


def bar_chart(bars: Sequence[Bar], *, title: str, width: int = 460, label_width: int = 150) -> str:
    """Horizontal bars; a blank value (suppressed, not published) shows its display text without a bar."""
    row, gap, top = 20, 6, 4
    value_width = 78
    area = width - label_width - value_width
    top_value = max((b.value for b in bars if b.value is not None and b.value > 0), default=0)
    height = top + len(bars) * (row + gap)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{_attr(title)}"><title>{escape(title)}</title>']
    for index, bar in enumerate(bars):
        y = top + index * (row + gap)
        length = 0.0 if not top_value or bar.value is None or bar.value <= 0 else area * bar.value / top_value
        parts.append(f'<g class="bar"{_figure_attrs(bar.figure_id)}><title>{escape(bar.label)}: '
                     f'{escape(bar.display)}{" · " + escape(bar.note) if bar.note else ""}</title>')
        parts.append(f'<text x="{label_width - 6}" y="{y + row * 0.72:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{INK}">{escape(bar.label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{row}" fill="{bar.colour}" '
                     f'stroke="#0000" />')
        parts.append(f'<text x="{label_width + length + 5:.1f}" y="{y + row * 0.72:.1f}" font-size="12" '
                     f'fill="{INK}">{escape(bar.display)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar(segments: Sequence[Bar], *, title: str, width: int = 460) -> str:
    """One 100 % bar of shares with a legend below; blank segments are listed in the legend only."""
    bar_height, legend_row = 26, 18
    shown = [s for s in segments if s.value is not None and s.value > 0]
    total = sum(s.value for s in shown) or 1.0
    height = bar_height + 10 + legend_row * ((len(segments) + 1) // 2)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{_attr(title)}"><title>{escape(title)}</title>']
    if not shown:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{bar_height}" fill="{NO_DATA}" />'
                     f'<text x="8" y="17" font-size="12" fill="{INK}">geen gegevens</text>')
    x = 0.0
    for s in shown:
        length = width * s.value / total
        parts.append(f'<g class="segment"{_figure_attrs(s.figure_id)}><title>{escape(s.label)}: {escape(s.display)}'
                     f'{" · " + escape(s.note) if s.note else ""}</title><rect x="{x:.1f}" y="0" width="{length:.1f}" '
                     f'height="{bar_height}" fill="{s.colour}" stroke="#fff" stroke-width="1" /></g>')
        x += length
    for index, s in enumerate(segments):
        column, line = index % 2, index // 2
        lx, ly = column * width / 2, bar_height + 10 + line * legend_row
        parts.append(f'<rect x="{lx:.0f}" y="{ly}" width="11" height="11" fill="{s.colour}" />'
                     f'<text x="{lx + 16:.0f}" y="{ly + 10}" font-size="12" fill="{INK}">{escape(s.label)}: '
                     f'{escape(s.display)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Maps


@dataclass(frozen=True)
class Area:
    """A polygon to draw: the buurt in focus, or a neighbour for context."""

    code: str
    polygons: Sequence[Polygon]
    fill: str = "none"
    stroke: str = INK
    stroke_width: float = 1.5
    title: str = ""
    href: str | None = None
    label: str | None = None  # short text at the label point
    label_point: tuple[float, float] | None = None
    figure_id: str | None = None


@dataclass(frozen=True)
class Cell:
    x0: float
    y0: float
    size: float
    colour: str
    title: str
    figure_id: str | None = None
    hatched: bool = False


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    colour: str


@dataclass(frozen=True)
class LegendItem:
    colour: str
    label: str
    hatched: bool = False


class _Frame:
    """RD metres -> SVG pixels for a bounding box, y flipped."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int, margin: float = 0.04):
        minx, miny, maxx, maxy = bounds
        dx, dy = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
        self.minx, self.maxy = minx - dx * margin, maxy + dy * margin
        self.scale = width / (dx * (1 + 2 * margin))
        self.width = width
        self.height = int(round(dy * (1 + 2 * margin) * self.scale))

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.minx) * self.scale, (self.maxy - y) * self.scale

    def path(self, polygons: Iterable[Polygon]) -> str:
        commands = []
        for polygon in polygons:
            for ring in polygon:
                points = [self.xy(x, y) for x, y in ring]
                if len(points) < 3:
                    continue
                head, *rest = points
                commands.append(f"M{_num(head[0])} {_num(head[1])}L" + " ".join(f"{_num(a)} {_num(b)}" for a, b in rest)
                                + "Z")
        return "".join(commands)


def _bounds(areas: Iterable[Area]) -> tuple[float, float, float, float] | None:
    xs, ys = [], []
    for area in areas:
        for polygon in area.polygons:
            for ring in polygon:
                for x, y in ring:
                    xs.append(x)
                    ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def area_map(*, title: str, focus: Sequence[Area], context: Sequence[Area] = (), cells: Sequence[Cell] = (),
             dots: Sequence[Dot] = (), legend: Sequence[LegendItem] = (), width: int = 520,
             map_id: str = "kaart") -> str:
    """A map of the focus areas (their extent sets the frame) with neighbours for context, 100 m cells and dots."""
    bounds = _bounds(focus)
    if bounds is None:
        return f'<p class="nodata">Geen grens beschikbaar voor de kaart "{escape(title)}".</p>'
    frame = _Frame(bounds, width)
    legend_height = 20 * ((len(legend) + 1) // 2) + (8 if legend else 0)
    height = frame.height + legend_height
    parts = [f'<svg class="map" id="{_attr(map_id)}" viewBox="0 0 {width} {height}"'
             f' width="{width}" height="{height}" role="img" aria-label="{_attr(title)}">'
             f'<title>{escape(title)}</title>',
             '<defs><pattern id="hatch-' + _attr(map_id) + '" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eef1f4"/><line x1="0" y1="0" x2="0" '
             f'y2="6" stroke="{NO_DATA}" stroke-width="3"/></pattern>'
             f'<clipPath id="clip-{_attr(map_id)}"><rect x="0" y="0" width="{width}" height="{frame.height}"/>'
             '</clipPath></defs>',
             f'<rect x="0" y="0" width="{width}" height="{frame.height}" fill="#f7f9fa"/>',
             f'<g clip-path="url(#clip-{_attr(map_id)})">']
    for area in context:
        parts.append(_area(frame, area, context=True))
    for cell in cells:
        x, y = frame.xy(cell.x0, cell.y0 + cell.size)
        size = cell.size * frame.scale
        fill = f"url(#hatch-{_attr(map_id)})" if cell.hatched else cell.colour
        parts.append(f'<rect class="cell"{_figure_attrs(cell.figure_id)} x="{_num(x)}" y="{_num(y)}" '
                     f'width="{_num(size)}" height="{_num(size)}" fill="{fill}" fill-opacity="0.85" stroke="#ffffff" '
                     f'stroke-width="0.5"><title>{escape(cell.title)}</title></rect>')
    for area in focus:
        parts.append(_area(frame, area, context=False))
    if dots:
        radius = max(1.2, min(3.0, 3.5 * frame.scale))
        parts.append('<g class="dots" stroke="#ffffff" stroke-width="0.3">')
        for dot in dots:
            x, y = frame.xy(dot.x, dot.y)
            parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(radius)}" fill="{dot.colour}"/>')
        parts.append("</g>")
    for area in (*context, *focus):
        if area.label and area.label_point:
            x, y = frame.xy(*area.label_point)
            parts.append(f'<text x="{_num(x)}" y="{_num(y)}" font-size="11" text-anchor="middle" fill="{INK}" '
                         f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(area.label)}</text>')
    parts.append("</g>")
    parts.append(_scale_bar(frame))
    for index, item in enumerate(legend):
        column, line = index % 2, index // 2
        lx, ly = 4 + column * width / 2, frame.height + 8 + line * 20
        fill = f"url(#hatch-{_attr(map_id)})" if item.hatched else item.colour
        parts.append(f'<rect x="{lx:.0f}" y="{ly}" width="12" height="12" fill="{fill}" stroke="{MUTED}" '
                     f'stroke-width="0.5"/><text x="{lx + 17:.0f}" y="{ly + 10}" font-size="12" fill="{INK}">'
                     f'{escape(item.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _area(frame: _Frame, area: Area, context: bool) -> str:
    path = frame.path(area.polygons)
    if not path:
        return ""
    fill_opacity = "0.9" if area.fill != "none" else "0"
    shape = (f'<path class="{"context" if context else "focus"}"{_figure_attrs(area.figure_id)} d="{path}" '
             f'fill="{area.fill}" fill-opacity="{fill_opacity}" fill-rule="evenodd" stroke="{area.stroke}" '
             f'stroke-width="{_num(area.stroke_width)}"><title>{escape(area.title or area.code)}</title></path>')
    if area.href:
        return f'<a href="{_attr(area.href)}">{shape}</a>'
    return shape


def _scale_bar(frame: _Frame) -> str:
    """100, 200, 500 m, ... whichever is about a fifth of the map width."""
    target = frame.width / 5 / frame.scale
    metres = next((m for m in (50, 100, 200, 250, 500, 1000, 2000, 5000, 10000) if m >= target * 0.6), 10000)
    length = metres * frame.scale
    x, y = 10, frame.height - 12
    label = f"{metres} m" if metres < 1000 else f"{metres // 1000} km"
    return (f'<g class="scale"><rect x="{x - 4}" y="{y - 16}" width="{length + 8:.0f}" height="22" fill="#ffffff" '
            f'fill-opacity="0.8"/><line x1="{x}" y1="{y}" x2="{x + length:.1f}" y2="{y}" stroke="{INK}" '
            f'stroke-width="2"/><text x="{x}" y="{y - 4}" font-size="10" fill="{INK}">{label}</text></g>')


def polygons_from_wkb(wkb: bytes | None) -> list[Polygon]:
    """Rings of a (multi)polygon from WKB (shapely), coordinates as given."""
    if not wkb:
        return []
    import shapely

    geometry = shapely.from_wkb(bytes(wkb))
    parts = getattr(geometry, "geoms", [geometry])
    polygons = []
    for part in parts:
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        polygons.append([list(part.exterior.coords), *[list(ring.coords) for ring in part.interiors]])
    return polygons


def class_colour(share: float | None, scale: Sequence[str] = SEQUENTIAL_RED, top: float = 100.0) -> str:
    """One of five classes (equal steps of ``top``); NO_DATA when blank."""
    if share is None:
        return NO_DATA
    step = min(len(scale) - 1, max(0, int(share / top * len(scale))))
    return scale[step]


def class_legend(scale: Sequence[str], unit: str, top: float = 100.0) -> list[LegendItem]:
    size = top / len(scale)
    return [LegendItem(colour, f"{_num(i * size)}–{_num((i + 1) * size)} {unit}") for i, colour in enumerate(scale)]
