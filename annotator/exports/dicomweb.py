"""A small DICOMweb client (QIDO-RS search, WADO-RS retrieve, STOW-RS store) on urllib3.

Every failure raises DicomwebError naming the server and the step (connection refused, timeout,
HTTP error, or an answer that is not what DICOMweb promises), so a Job's message says what went
wrong where. Instances are retrieved one at a time and streamed to disk: memory holds one chunk.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from annotator.env import knob
from annotator.errors import SpineLabError

DICOM_JSON = "application/dicom+json"
UID_CHARS = set("0123456789.")
CHUNK = 1 << 20


class DicomwebError(SpineLabError):
    status = 502
    code = "dicomweb_failed"


def tag(item: dict[str, Any], key: str) -> Any:
    """The first value of a DICOM JSON attribute ('0020000D' -> '1.2.3'); None when absent."""
    values = (item.get(key) or {}).get("Value") or [None]
    value = values[0]
    return value.get("Alphabetic") if isinstance(value, dict) else value


def check_uid(value: str, what: str) -> str:
    from annotator.errors import InvalidInput

    if not value or len(value) > 64 or not set(value) <= UID_CHARS:
        raise InvalidInput(f"{what} {value!r} is not a DICOM UID (digits and dots, at most 64 characters)")
    return value


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart Content-Type (RFC 2046)."""
    for param in content_type.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"').encode()
    raise ValueError(f"not a multipart answer (Content-Type {content_type!r})")


def _find(path: Path, needle: bytes, start: int) -> int:
    """Offset of the first `needle` at or after `start` in a file, scanned in chunks; -1 if absent."""
    with open(path, "rb") as handle:
        handle.seek(start)
        offset, carry = start, b""
        while chunk := handle.read(CHUNK):
            window = carry + chunk
            found = window.find(needle)
            if found >= 0:
                return offset - len(carry) + found
            carry = window[-(len(needle) - 1) :] if len(needle) > 1 else b""
            offset += len(chunk)
    return -1


def unwrap_single_part(raw: Path, content_type: str, target: Path) -> None:
    """Copy the one part of a multipart/related body in `raw` to `target`, in chunks. ValueError when
    the body is not exactly one part holding a DICOM file (preamble + 'DICM')."""
    delimiter = b"--" + boundary_of(content_type)
    first = _find(raw, delimiter, 0)
    if first < 0:
        raise ValueError("no multipart boundary in the body")
    headers_end = _find(raw, b"\r\n\r\n", first)
    if headers_end < 0:
        raise ValueError("a multipart part without headers")
    begin = headers_end + 4
    end = _find(raw, b"\r\n" + delimiter, begin)
    if end < 0:
        raise ValueError("the multipart body does not end")
    with open(raw, "rb") as handle:
        handle.seek(end + 2 + len(delimiter))
        if handle.read(2) != b"--":
            raise ValueError("more than one part for one instance")
        handle.seek(begin + 128)
        if handle.read(4) != b"DICM":
            raise ValueError("the part is not a DICOM file (no DICM preamble)")
        handle.seek(begin)
        remaining = end - begin
        with open(target, "wb") as sink:
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                sink.write(chunk)
                remaining -= len(chunk)


class DicomwebClient:
    def __init__(self, url: str, user: str = "", password: str = "", timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        self.headers = urllib3.make_headers(basic_auth=f"{user}:{password}") if user else {}
        self.http = urllib3.PoolManager(retries=False)

    @classmethod
    def from_settings(cls) -> DicomwebClient:
        from annotator.errors import InvalidInput

        url = knob("DICOMWEB_URL")
        if not url:
            raise InvalidInput(
                "no DICOMweb server is configured: set SPINELAB_DICOMWEB_URL (see README, PACS)"
            )
        return cls(url, knob("DICOMWEB_USER"), knob("DICOMWEB_PASSWORD"), float(knob("DICOMWEB_TIMEOUT")))

    def _request(
        self,
        step: str,
        method: str,
        path: str,
        accept: str,
        body: bytes | None = None,
        content_type: str = "",
        stream: bool = False,
    ) -> Any:
        headers = {**self.headers, "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.http.request(
                method,
                self.url + path,
                body=body,
                headers=headers,
                timeout=self.timeout,
                preload_content=not stream,
            )
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} did not answer ({exc.__class__.__name__}: {reason})",
                server=self.url,
                step=step,
            ) from exc
        if response.status >= 400:
            text = response.data[:200].decode("utf-8", "replace")
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} answered HTTP {response.status} ({text.strip()})",
                server=self.url,
                step=step,
            )
        return response

    def _json(self, step: str, path: str) -> list[dict[str, Any]]:
        response = self._request(step, "GET", path, DICOM_JSON)
        if response.status == 204 or not response.data:
            return []
        try:
            found = json.loads(response.data)
        except ValueError as exc:
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} answered something that is not DICOM JSON",
                server=self.url,
                step=step,
            ) from exc
        if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} answered JSON that is not a list of datasets",
                server=self.url,
                step=step,
            )
        return found

    def search_studies(self, query: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return self._json("QIDO-RS study search", "/studies" + (f"?{urlencode(query)}" if query else ""))

    def search_series(self, study: str) -> list[dict[str, Any]]:
        return self._json("QIDO-RS series search", f"/studies/{quote(study)}/series")

    def search_instances(self, study: str, series: str) -> list[dict[str, Any]]:
        return self._json(
            "QIDO-RS instance search", f"/studies/{quote(study)}/series/{quote(series)}/instances"
        )

    def retrieve_instance(self, study: str, series: str, instance: str, target: Path) -> Path:
        """WADO-RS: one instance as application/dicom, streamed to disk (memory holds one chunk) and
        unwrapped from its multipart envelope into `target`."""
        step = f"WADO-RS retrieve of instance {instance}"
        path = f"/studies/{quote(study)}/series/{quote(series)}/instances/{quote(instance)}"
        response = self._request(
            step, "GET", path, 'multipart/related; type="application/dicom"', stream=True
        )
        raw = target.with_name(target.name + ".multipart")
        try:
            with open(raw, "wb") as sink:
                for chunk in response.stream(CHUNK):
                    sink.write(chunk)
        except urllib3.exceptions.HTTPError as exc:
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} stopped answering ({exc.__class__.__name__})",
                server=self.url,
                step=step,
            ) from exc
        finally:
            response.release_conn()
        try:
            unwrap_single_part(raw, response.headers.get("Content-Type", ""), target)
        except ValueError as exc:
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} did not answer one DICOM file ({exc})",
                server=self.url,
                step=step,
            ) from exc
        finally:
            raw.unlink(missing_ok=True)
        return target

    def store(self, files: list[bytes]) -> dict[str, Any]:
        """STOW-RS: store DICOM files; returns the server's DICOM JSON answer. A failed SOP is an error."""
        step = "STOW-RS store"
        boundary = uuid.uuid4().hex
        body = (
            b"".join(
                b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n"
                for data in files
            )
            + b"--"
            + boundary.encode()
            + b"--\r\n"
        )
        response = self._request(
            step,
            "POST",
            "/studies",
            DICOM_JSON,
            body=body,
            content_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
        )
        try:
            answer = json.loads(response.data) if response.data else {}
        except ValueError as exc:
            raise DicomwebError(
                f"{step}: {self.url} answered something that is not DICOM JSON", server=self.url, step=step
            ) from exc
        if isinstance(answer, dict) and (answer.get("00081198") or {}).get("Value"):
            raise DicomwebError(
                f"{step}: {self.url} refused the instance(s): {answer['00081198']['Value']}",
                server=self.url,
                step=step,
            )
        return answer if isinstance(answer, dict) else {}
