"""A small DICOMweb client (QIDO-RS search, WADO-RS retrieve, STOW-RS store) on urllib3.

Every failure raises DicomwebError naming the server and the step (connection refused, timeout,
HTTP error, or an answer that is not what DICOMweb promises), so a Job's message says what went
wrong where. Instances are retrieved one at a time, straight to disk: memory holds one instance.
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


def split_multipart(body: bytes, content_type: str) -> list[bytes]:
    """The parts of a multipart/related body (RFC 2046), without their headers."""
    boundary = next(
        (
            p.split("=", 1)[1].strip().strip('"')
            for p in content_type.split(";")
            if p.strip().startswith("boundary=")
        ),
        "",
    )
    if not boundary:
        raise ValueError(f"no boundary in Content-Type {content_type!r}")
    parts = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        _, sep, payload = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a multipart part without headers")
        parts.append(payload[:-2] if payload.endswith(b"\r\n") else payload)
    return parts


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
    ) -> Any:
        headers = {**self.headers, "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.http.request(
                method, self.url + path, body=body, headers=headers, timeout=self.timeout
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
        """WADO-RS: one instance as application/dicom, written to `target`."""
        step = f"WADO-RS retrieve of instance {instance}"
        path = f"/studies/{quote(study)}/series/{quote(series)}/instances/{quote(instance)}"
        response = self._request(step, "GET", path, 'multipart/related; type="application/dicom"')
        try:
            parts = split_multipart(response.data, response.headers.get("Content-Type", ""))
        except ValueError as exc:
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} answered something that is not multipart DICOM ({exc})",
                server=self.url,
                step=step,
            ) from exc
        if len(parts) != 1 or parts[0][128:132] != b"DICM":
            raise DicomwebError(
                f"{step}: the DICOMweb server {self.url} did not answer one DICOM file "
                f"({len(parts)} part(s), no DICM preamble)",
                server=self.url,
                step=step,
            )
        target.write_bytes(parts[0])
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
