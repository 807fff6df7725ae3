"""A throw-away Orthanc PACS with its DICOMweb plugin (Debian packages `orthanc`, `orthanc-dicomweb`),
started on a free loopback port with a temporary storage folder and HTTP basic auth, stopped after.
Like tests/servers.py; used by tests/annotator/test_dicomweb.py."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import urllib3

PLUGIN_DIRS = (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc"))


@dataclass
class Orthanc:
    url: str  # the REST root, e.g. http://127.0.0.1:8042
    dicomweb: str  # the DICOMweb root, url + /dicom-web
    user: str
    password: str

    def headers(self) -> dict[str, str]:
        return urllib3.make_headers(basic_auth=f"{self.user}:{self.password}")

    def upload(self, path: Path) -> dict:
        """Store one DICOM file through Orthanc's own REST API (POST /instances)."""
        answer = urllib3.request(
            "POST", f"{self.url}/instances", body=path.read_bytes(), headers=self.headers(), timeout=30
        )
        if answer.status != 200:
            raise RuntimeError(f"Orthanc refused {path.name}: HTTP {answer.status} {answer.data[:200]!r}")
        return json.loads(answer.data)


def dicomweb_plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        found = sorted(folder.glob("libOrthancDicomWeb.so*")) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def orthanc_server(user: str = "spinelab", password: str = "pacs-secret-1") -> Iterator[Orthanc]:
    """Start Orthanc (DICOM port off, remote access off, basic auth on); yield its addresses."""
    plugin = dicomweb_plugin()
    if shutil.which("Orthanc") is None or plugin is None:
        raise RuntimeError(
            "Orthanc with its DICOMweb plugin is not installed: apt-get install orthanc orthanc-dicomweb"
        )
    folder = Path(tempfile.mkdtemp(prefix="spinelab-orthanc-"))
    port = free_port()
    config = {
        "Name": "spinelab-test",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {user: password},
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("wb")
    proc = subprocess.Popen(["Orthanc", str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/dicom-web", user, password)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"Orthanc exited early:\n{(folder / 'orthanc.log').read_text()[-3000:]}")
        try:
            return (
                urllib3.request("GET", f"{server.url}/system", headers=server.headers(), timeout=2).status
                == 200
            )
        except urllib3.exceptions.HTTPError:
            return False

    try:
        deadline = time.monotonic() + 60
        while not up():
            if time.monotonic() > deadline:
                raise RuntimeError("Orthanc did not come up within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
