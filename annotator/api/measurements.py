"""REST views for vertebral body measurements (annotator.services.measurements, mlcore.measure).

Access: whoever may see the slice (the same rule as the slice image and mask endpoints); blind
second annotators never get the main mask's measurements.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.errors import InvalidInput, NotFound
from annotator.services import measurements
from annotator.services.access import get_visible_slice, visible_series, visible_slices

LOWEST_PARAM = OpenApiParameter(
    "lowest",
    str,
    description="level of the lowest body (e.g. L5) when the mask has no sacrum to name levels from",
)
REVISION_PARAM = OpenApiParameter(
    "revision", str, enum=list(measurements.WHICH), description="head (default) or the model's pre-label"
)
MEASURE_RESPONSES = {
    200: OpenApiTypes.OBJECT,
    400: OpenApiResponse(description="bad parameter, or a project without a vertebra class"),
    403: OpenApiResponse(description="blind annotation: the main mask is hidden"),
    404: OpenApiResponse(description="unknown or unseen slice/series, or no such mask"),
}


class MeasurementQuery(serializers.Serializer):
    revision = serializers.ChoiceField(choices=list(measurements.WHICH), required=False, default="head")
    slice = serializers.IntegerField(required=False, min_value=1)
    download = serializers.ChoiceField(choices=["csv", "json"], required=False)
    lowest = serializers.CharField(required=False, max_length=10)


def parse_query(request: Request) -> dict[str, Any]:
    query = MeasurementQuery(data=request.query_params)
    if not query.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in query.errors.items()
        )
        raise InvalidInput(f"bad query parameter ({problems})", fields=query.errors)
    data = dict(query.validated_data)
    data["lowest"] = measurements.parse_lowest(data.get("lowest"))
    return data


class SliceMeasurementsView(APIView):
    @extend_schema(parameters=[REVISION_PARAM, LOWEST_PARAM], responses=MEASURE_RESPONSES)
    def get(self, request: Request, pk: int) -> Response:
        """Heights, trapezoids, disc distances and Genant grades of the slice's head mask or pre-label
        (`revision.prelabel` is true for the model's mask). Unmeasurable bodies carry a `reason`."""
        query = parse_query(request)
        slice_ = get_visible_slice(request.user, pk)
        return Response(
            measurements.slice_measurements(request.user, slice_, query["revision"], query["lowest"])
        )


class SeriesMeasurementsView(APIView):
    @extend_schema(
        parameters=[
            REVISION_PARAM,
            LOWEST_PARAM,
            OpenApiParameter("slice", int, description="slice id (default: the one with most vertebra)"),
            OpenApiParameter("download", str, enum=["csv", "json"], description="as a file attachment"),
        ],
        responses={**MEASURE_RESPONSES, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request, pk: int) -> Response | HttpResponse:
        """The report of a series: the measurements of its mid-sagittal slice (or `slice`), with the
        list of slices that have a mask; `download=csv|json` answers a file."""
        query = parse_query(request)
        series = visible_series(request.user).filter(pk=pk).select_related("session__subject").first()
        if series is None:
            raise NotFound(f"series {pk} does not exist")
        report = measurements.series_report(
            request.user,
            series,
            visible_slices(request.user),
            query["revision"],
            query.get("slice"),
            query["lowest"],
        )
        download = query.get("download")
        if download is None:
            return Response(report)
        name = f"measurements-series{series.pk}-slice{report['slice']}-{report['revision']['source']}"
        if download == "csv":
            response = HttpResponse(measurements.report_csv(report), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(json.dumps(report, indent=1), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}.{download}"'
        return response
