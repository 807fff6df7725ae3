"""The binary endpoints: a slice channel as PNG, and the mask as an indexed PNG (GET and PUT)."""

from __future__ import annotations

import io
import math
import warnings
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from PIL import Image
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.serializers import MaskSavedSerializer
from annotator.errors import Forbidden, InvalidInput, InvalidMask, NotFound, PayloadTooLarge
from annotator.models import MaskRevision, Slice
from annotator.services import images
from annotator.services.access import (
    can_edit_slice,
    can_view_main_mask,
    get_slice_for_write,
    get_visible_slice,
    is_staff_in,
    visible_revisions,
)
from annotator.services.edit_time import MAX_EDIT_SECONDS
from annotator.services.ids import MAX_DB_ID, as_db_id
from annotator.services.masks import save_human_mask, track_head
from annotator.services.slicedata import channel_stats, load_channel

# Editor-made masks that correction effort should tell apart from painting (X-Mask-Source).
MASK_SOURCES = ("copy", "interpolate")

MAX_MASK_BYTES = 16 * 1024 * 1024
TRACKS = [t.value for t in MaskRevision.Track]


class PngParser(BaseParser):
    """Declares the raw `image/png` body of a mask PUT (the view reads request.body itself)."""

    media_type = "image/png"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream.read() if stream is not None else b""


def png_response(data: bytes, **headers: str) -> HttpResponse:
    response = HttpResponse(bytes(data), content_type="image/png")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


class SliceImageView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("channel", str, description="e.g. T2w; default: the first channel"),
            OpenApiParameter("window", float, description="display window width (with level)"),
            OpenApiParameter("level", float, description="display window centre (with window)"),
            OpenApiParameter(
                "depth", int, enum=[8, 16], description="16: full bit depth + X-Value-* headers"
            ),
        ],
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="bad window"),
            404: OpenApiResponse(description="unknown slice or channel"),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        """8-bit windowed grey PNG (default p1..p99), or 16-bit with real = pixel * scale + offset."""
        slice_ = get_visible_slice(request.user, pk)
        channel = request.query_params.get("channel") or None
        depth = request.query_params.get("depth", "8")
        if depth not in ("8", "16"):
            raise InvalidInput(f"depth must be 8 or 16, got {depth!r}")
        array = load_channel(slice_, channel)
        name = channel or next(iter(slice_.channels))
        cache = {"Cache-Control": "private, max-age=3600"}
        if depth == "16":
            rendered = images.render_16bit(array)
            return png_response(
                rendered.png,
                X_Value_Offset=repr(rendered.offset),
                X_Value_Scale=repr(rendered.scale),
                **cache,
            )
        stats = slice_.stats.get(name) or channel_stats(array)
        low, high = images.parse_window(
            request.query_params.get("window"), request.query_params.get("level"), stats
        )
        return png_response(images.render_8bit(array, low, high), **cache)


class SliceMaskView(APIView):
    parser_classes = [PngParser]

    @extend_schema(
        parameters=[
            OpenApiParameter("revision", str, description="head (default), prelabel or a revision id"),
            OpenApiParameter("track", str, enum=TRACKS, description="with revision=head: that track's head"),
        ],
        responses={(200, "image/png"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="no such mask")},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        """The mask as an indexed PNG; headers X-Revision-Id and X-Revision-Source."""
        slice_ = get_visible_slice(request.user, pk)
        revision = self.find_revision(request, slice_)
        # A revision asked for by id never changes: the browser may keep it (as it keeps images).
        by_id = as_db_id(request.query_params.get("revision", "")) is not None
        return png_response(
            bytes(revision.png),
            X_Revision_Id=str(revision.pk),
            X_Revision_Source=revision.source,
            Cache_Control="private, max-age=3600" if by_id else "no-cache",
        )

    def find_revision(self, request: Request, slice_: Slice) -> MaskRevision:
        wanted = request.query_params.get("revision", "head") or "head"
        track = parse_track(request)
        if wanted == "head":
            author = (
                request.user
                if track != MaskRevision.Track.MAIN and not is_staff_in(request.user, slice_.project)
                else None
            )
            found = track_head(slice_, track, author=author)
        elif wanted == "prelabel":
            found = slice_.prelabel_revision
        elif (revision_id := as_db_id(wanted)) is not None:
            found = visible_revisions(request.user).filter(pk=revision_id, slice=slice_).first()
        else:
            raise InvalidInput(f"revision must be head, prelabel or a revision id, got {wanted!r}")
        if found is None:
            raise NotFound(
                f"slice {slice_.pk} has no {wanted} mask" + (f" on track {track}" if track != "main" else "")
            )
        # Blind double/gold annotation: the second annotator never sees the first one's mask.
        if (
            found.track == MaskRevision.Track.MAIN
            and found.source != MaskRevision.Source.MODEL
            and not can_view_main_mask(request.user, slice_)
        ):
            raise Forbidden(
                f"slice {slice_.pk} is assigned to you for blind annotation: the main mask is hidden"
            )
        return found

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "X-Base-Revision",
                str,
                OpenApiParameter.HEADER,
                description="revision id the edit started from; empty for a first save",
            ),
            OpenApiParameter("X-Edit-Seconds", float, OpenApiParameter.HEADER, description="editing time"),
            OpenApiParameter(
                "X-Mask-Source",
                str,
                OpenApiParameter.HEADER,
                enum=MASK_SOURCES,
                description="how the editor made this mask when not painted from scratch: copied from a "
                "neighbour or interpolated between two (stored as meta.source)",
            ),
            OpenApiParameter("track", str, enum=TRACKS, description="double for blind second annotation"),
        ],
        request={"image/png": OpenApiTypes.BINARY},
        responses={
            201: MaskSavedSerializer,
            400: OpenApiResponse(description="bad mask"),
            403: OpenApiResponse(description="not assigned"),
            409: OpenApiResponse(description="stale base"),
            413: OpenApiResponse(description="too large"),
        },
    )
    def put(self, request: Request, pk: int) -> Response:
        """Save a new revision. A stale X-Base-Revision answers 409 but the mask is kept as a revision."""
        slice_ = get_slice_for_write(request.user, pk)
        track = parse_track(request)
        if not can_edit_slice(request.user, slice_, track):
            raise Forbidden(
                f"you are not assigned to slice {pk}" + (f" on track {track}" if track != "main" else "")
            )
        base = parse_optional_number(
            request.headers.get("X-Base-Revision"), "X-Base-Revision", int, maximum=MAX_DB_ID
        )
        seconds = parse_optional_number(
            request.headers.get("X-Edit-Seconds"), "X-Edit-Seconds", float, maximum=MAX_EDIT_SECONDS
        )
        body = read_body(request)
        check_png_header(body, slice_)
        meta: dict[str, Any] = {"edit_seconds": seconds} if seconds is not None else {}
        source = request.headers.get("X-Mask-Source", "")
        if source and source not in MASK_SOURCES:
            raise InvalidInput(f"X-Mask-Source must be one of {MASK_SOURCES}, got {source[:40]!r}")
        if source:
            meta["source"] = source
        result = save_human_mask(
            slice_id=slice_.pk, user=request.user, png=body, base_revision_id=base, track=track, meta=meta
        )
        revision = result.revision  # revision.slice is the locked slice, its state already updated
        return Response(
            {
                "revision": revision.pk,
                "state": revision.slice.state,
                "sha256": revision.sha256,
                "created_at": revision.created_at,
            },
            status=201,
        )


def parse_track(request: Request) -> str:
    track = request.query_params.get("track") or MaskRevision.Track.MAIN
    if track not in TRACKS:
        raise InvalidInput(f"track must be one of {TRACKS}, got {track!r}")
    return track


def parse_optional_number(raw: str | None, name: str, kind: type, maximum: float) -> Any:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = kind(raw.strip())
    except ValueError as exc:
        raise InvalidInput(f"header {name} must be a {kind.__name__}, got {raw!r}") from exc
    if not math.isfinite(value) or value < 0 or value > maximum:
        raise InvalidInput(f"header {name} must be a number between 0 and {maximum:g}, got {raw!r}")
    return value


def read_body(request: Request) -> bytes:
    """The raw request body, refusing oversize bodies before reading them."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_MASK_BYTES:
        raise PayloadTooLarge(f"the mask body is {declared} bytes; the limit is {MAX_MASK_BYTES} bytes")
    body = request._request.body  # raw bytes; DRF's parsers are not involved
    if len(body) > MAX_MASK_BYTES:
        raise PayloadTooLarge(f"the mask body is {len(body)} bytes; the limit is {MAX_MASK_BYTES} bytes")
    return body


def check_png_header(body: bytes, slice_: Slice) -> None:
    """Reject non-PNGs and wrong sizes from the header alone, so a decompression bomb is never decoded."""
    if not body:
        raise InvalidMask("the mask body is empty: send an 8-bit indexed PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(body))
            width, height, fmt = image.width, image.height, image.format
    except Exception as exc:  # PIL raises many types for garbage input, DecompressionBombError included
        raise InvalidMask(f"the mask is not a readable PNG ({exc.__class__.__name__})") from exc
    if fmt != "PNG":
        raise InvalidMask(f"the mask must be a PNG, got {fmt}")
    if (height, width) != (slice_.height, slice_.width):
        raise InvalidMask(
            f"mask shape {height}x{width} does not match the slice ({slice_.height}x{slice_.width})",
            expected_shape=[slice_.height, slice_.width],
            got_shape=[height, width],
        )
