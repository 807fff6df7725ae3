"""GET /api/slices/<id>/prelabel-thumbnail/?size=64: a slice's pre-label as a small PNG coloured by
the project's class colours (the ranking page shows one per ranked slice).

Whoever may see the slice may see its pre-label (annotator.services.access.get_visible_slice, the
rule of GET /api/slices/<id>/mask/?revision=prelabel); model masks are never blind."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from annotator.api.views.pixels import png_response
from annotator.rounds.next_slices import THUMBNAIL_LIMITS, prelabel_thumbnail, thumbnail_size
from annotator.services.access import get_visible_slice


class PrelabelThumbnailView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "size",
                int,
                description=f"longest side in pixels, {THUMBNAIL_LIMITS[0]}..{THUMBNAIL_LIMITS[1]}",
            )
        ],
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="no pre-label")},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        size = thumbnail_size(request.query_params.get("size"))
        slice_ = get_visible_slice(request.user, pk)
        revision_id = slice_.prelabel_revision_id
        return png_response(
            prelabel_thumbnail(slice_, size),
            X_Revision_Id=str(revision_id),
            # A revision never changes, but the slice's pre-label may be replaced by the next pass.
            Cache_Control="private, max-age=60",
        )
