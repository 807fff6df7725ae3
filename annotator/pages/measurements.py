"""The per-series measurement report: a table per level (Genant grades highlighted) and the measured
slice with the trapezoids, height lines and disc distances drawn as SVG over the image.

Access is the API's: whoever may see the series' slices (annotator.api.permissions)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.errors import InvalidInput, SpineLabError
from annotator.services import measurements
from annotator.services.access import visible_series, visible_slices

LOWEST_CHOICES = list(measurements.LEVELS_UP_FROM_SACRUM[:8])  # L5 .. T10
LINE_COLOURS = {"anterior": "#e5484d", "middle": "#f5d90a", "posterior": "#3e9bff"}


def _mm(point: dict[str, float], spacing: list[float]) -> tuple[float, float]:
    """Image point (pixel centres at integers) -> SVG user units (mm, image's top-left corner at 0)."""
    return round((point["x"] + 0.5) * spacing[1], 2), round((point["y"] + 0.5) * spacing[0], 2)


def drawing(report: dict[str, Any]) -> dict[str, Any]:
    """What the template draws, in millimetres so anisotropic pixels keep their true aspect."""
    spacing = report["spacing_mm"]
    height, width = report["shape"]
    shapes: list[dict[str, Any]] = []
    for body in report["bodies"]:
        grade = (body.get("grade") or {}).get("grade", 0)
        if body["trapezoid"] is not None:
            corners = [_mm(c, spacing) for c in body["trapezoid"]["corners"]]
            shapes.append(
                {
                    "kind": "trapezoid",
                    "points": " ".join(f"{x},{y}" for x, y in corners),
                    "grade": grade,
                    "measurable": body["measurable"],
                }
            )
        for name, colour in LINE_COLOURS.items():
            line = body.get(name)
            if line:
                (x1, y1), (x2, y2) = _mm(line["start"], spacing), _mm(line["end"], spacing)
                shapes.append({"kind": "line", "x1": x1, "y1": y1, "x2": x2, "y2": y2, "colour": colour})
        cx, cy = _mm(body["centroid"], spacing)
        shapes.append({"kind": "label", "x": cx, "y": cy, "text": body["label"], "grade": grade})
    for disc in report["discs"]:
        for name in ("anterior", "posterior"):
            line = disc[name]
            (x1, y1), (x2, y2) = _mm(line["start"], spacing), _mm(line["end"], spacing)
            shapes.append({"kind": "disc", "x1": x1, "y1": y1, "x2": x2, "y2": y2})
    return {
        "width_mm": round(width * spacing[1], 2),
        "height_mm": round(height * spacing[0], 2),
        "shapes": shapes,
        "font": round(max(width * spacing[1], height * spacing[0]) / 45, 2),
    }


def _table(report: dict[str, Any]) -> list[dict[str, Any]]:
    discs = {d["upper"]: d for d in report["discs"]}
    rows = []
    for body in report["bodies"]:
        rows.append({**body, "disc": discs.get(body["label"])})
    return rows


@login_required
def series_report_page(request: HttpRequest, series_id: int) -> HttpResponse:
    user = request.user
    series = visible_series(user).filter(pk=series_id).select_related("session__subject").first()
    if series is None:
        raise Http404(f"series {series_id} does not exist")
    context: dict[str, Any] = {"series": series, "subject": series.session.subject}
    try:
        which = measurements.parse_which(request.GET.get("revision"))
        raw_slice = request.GET.get("slice") or None
        if raw_slice is not None and not (raw_slice.isascii() and raw_slice.isdigit()):
            raise InvalidInput(f"slice must be a slice id, got {raw_slice!r}")
        lowest = measurements.parse_lowest(request.GET.get("lowest"))
        report = measurements.series_report(
            user, series, visible_slices(user), which, int(raw_slice) if raw_slice else None, lowest
        )
    except SpineLabError as exc:
        context["error"] = exc.message
        return render(request, "annotator/measurements.html", context, status=exc.status)
    query = {"revision": which, "slice": report["slice"], **({"lowest": lowest} if lowest else {})}
    context.update(
        {
            "which": which,
            "lowest": lowest or "",
            "level_choices": LOWEST_CHOICES,
            "report": report,
            "rows": _table(report),
            "drawing": drawing(report),
            "image_url": f"/api/slices/{report['slice']}/image/",
            "csv_url": f"/api/series/{series.pk}/measurements/?{urlencode({**query, 'download': 'csv'})}",
            "json_url": f"/api/series/{series.pk}/measurements/?{urlencode({**query, 'download': 'json'})}",
        }
    )
    return render(request, "annotator/measurements.html", context)
