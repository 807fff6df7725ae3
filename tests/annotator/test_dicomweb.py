"""DICOMweb against a real Orthanc PACS: upload real MR files, import them through QIDO-RS/WADO-RS
as an io-queue Job run by a real Celery worker, label, push a DICOM SEG back with STOW-RS and read
it from Orthanc. Plus servers that are down, slow or answer garbage: a failed Job naming the server
and the step, and nothing imported."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from annotator.exports.dicomweb import DicomwebClient, tag
from annotator.models import Job, Series
from tests.annotator.exports_support import accept, dicom_stack
from tests.conftest import shared_data, wait_for_job
from tests.orthanc import Orthanc, free_port, orthanc_server

VERTEBRAE, DISCS = 1, 3
SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


@pytest.fixture
def orthanc() -> Orthanc:
    try:
        with orthanc_server() as server:
            yield server
    except RuntimeError as exc:
        if "not installed" in str(exc):
            pytest.skip(str(exc))
        raise


@pytest.fixture
def pacs_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")

    def configure(url: str, user: str = "", password: str = "", timeout: int = 30) -> dict[str, str]:
        settings.SPINELAB = {
            **settings.SPINELAB,
            "DICOMWEB_URL": url,
            "DICOMWEB_USER": user,
            "DICOMWEB_PASSWORD": password,
            "DICOMWEB_TIMEOUT": timeout,
        }
        return {
            "SPINELAB_DICOMWEB_URL": url,
            "SPINELAB_DICOMWEB_USER": user,
            "SPINELAB_DICOMWEB_PASSWORD": password,
            "SPINELAB_DICOMWEB_TIMEOUT": str(timeout),
        }

    return configure


@pytest.fixture
def io_worker(transactional_db, settings):
    """A real Celery worker consuming the `io` queue; started by the test once the server is known."""
    from django.db import connection

    from tests.servers import celery_worker_process, database_url_for

    started = []

    def start(extra_env: dict[str, str]):
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for folder in ("queue", "processed"):
                for leftover in (settings.BROKER_DIR / folder).glob("*"):
                    leftover.unlink(missing_ok=True)
        env = {
            "SPINELAB_DATABASE_URL": database_url_for(connection.settings_dict),
            "SPINELAB_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "SPINELAB_VAR_DIR": str(settings.VAR_DIR),
            "SPINELAB_BROKER_URL": settings.CELERY_BROKER_URL,
            "SPINELAB_CELERY_EAGER": "0",
            **extra_env,
        }
        context = celery_worker_process(env, queues="io")
        started.append(context)
        return context.__enter__()

    yield start
    for context in started:
        context.__exit__(None, None, None)


def test_a_study_goes_from_orthanc_into_spinelab_and_its_seg_comes_back(
    orthanc, pacs_settings, io_worker, project, client_for, users, tmp_path
):
    import highdicom as hd
    import pydicom

    files = dicom_stack(tmp_path / "stack")
    for path in files + [shared_data("dicom-mr", "pydicom_data", "emri_small.dcm")]:
        orthanc.upload(path)
    env = pacs_settings(orthanc.dicomweb, orthanc.user, orthanc.password)
    io_worker(env)
    sam = client_for("sam")

    found = sam.get("/api/dicomweb/studies/", {"PatientID": "4MR1"})
    assert found.status_code == 200, found.json()
    study = pydicom.dcmread(files[0]).StudyInstanceUID
    assert [s["study"] for s in found.json()] == [study]

    queued = sam.post("/api/dicomweb/import/", {"project": project.pk, "study": study}, format="json")
    assert queued.status_code == 202, queued.json()
    job = wait_for_job(queued.json()["id"], timeout=180)
    assert job.state == "succeeded", job.message
    assert job.result["instances"] == 4 and job.result["server"] == orthanc.dicomweb
    series = Series.objects.get(pk=job.result["series"][0])
    assert series.source_format == "dicom" and series.shape == [4, 64, 64]
    again = wait_for_job(
        sam.post("/api/dicomweb/import/", {"project": project.pk, "study": study}, format="json").json()[
            "id"
        ],
        timeout=180,
    )
    assert again.state == "succeeded" and len(again.result["skipped_duplicates"]) == 1
    assert Series.objects.count() == 1  # importing the same study again adds nothing

    wanted = {}
    for s in series.slices.order_by("index")[1:3]:
        labels = np.zeros((64, 64), np.uint8)
        labels[10 + 10 * s.index : 25 + 10 * s.index, 5:40] = VERTEBRAE
        labels[50:58, 20:30] = DISCS
        accept(s, labels)
        wanted[s.index] = labels

    pushed = sam.post("/api/dicomweb/push/", {"series": series.pk}, format="json")
    assert pushed.status_code == 202, pushed.json()
    push = wait_for_job(pushed.json()["id"], timeout=180)
    assert push.state == "succeeded", push.message
    assert push.result["segments"] == ["vertebrae", "intervertebral discs"]

    # Read it back from Orthanc, as a viewer would: QIDO-RS finds it, WADO-RS returns it.
    client = DicomwebClient(orthanc.dicomweb, orthanc.user, orthanc.password)
    segs = [s for s in client.search_series(study) if tag(s, "00080060") == "SEG"]
    assert [tag(s, "0020000E") for s in segs] == [push.result["seg_series"]]
    instance = tag(client.search_instances(study, push.result["seg_series"])[0], "00080018")
    client.retrieve_instance(study, push.result["seg_series"], instance, tmp_path / "seg.dcm")
    seg = hd.seg.segread(tmp_path / "seg.dcm")
    assert seg.SOPClassUID == SEG_SOP_CLASS
    sources = [pydicom.dcmread(f) for f in files]
    orientation = np.array(sources[0].ImageOrientationPatient, float)
    normal = np.cross(orientation[:3], orientation[3:])
    sources.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    for index, labels in wanted.items():
        got = seg.get_pixels_by_source_instance(
            [sources[index].SOPInstanceUID], combine_segments=True, relabel=True
        )[0]
        assert np.array_equal(got, np.select([labels == VERTEBRAE, labels == DISCS], [1, 2], 0)), index


def test_wrong_credentials_fail_the_job_naming_the_server_and_the_step(
    orthanc, pacs_settings, project, users
):
    from annotator.exports.dicomweb_service import queue_import
    from annotator.tasks.exports import dicomweb_import

    pacs_settings(orthanc.dicomweb, orthanc.user, "wrong-password")
    job = queue_import({"project": project.pk, "study": "1.2.3"}, users["sam"])
    dicomweb_import(job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "QIDO-RS series search" in job.message and orthanc.dicomweb in job.message and "401" in job.message


class Garbage(BaseHTTPRequestHandler):
    """Answers QIDO with a plausible instance list and WADO with bytes that are not DICOM."""

    delay = 0.0
    body = b"--b\r\nContent-Type: application/dicom\r\n\r\nnot dicom at all\r\n--b--"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(self.delay)
        if self.path.endswith("/series"):
            body, kind = b'[{"0020000E": {"vr": "UI", "Value": ["1.2.3.4"]}}]', "application/dicom+json"
        elif self.path.endswith("/instances"):
            items = ",".join(f'{{"00080018": {{"vr": "UI", "Value": ["1.2.3.4.{i}"]}}}}' for i in range(3))
            body, kind = f"[{items}]".encode(), "application/dicom+json"
        else:
            body, kind = self.body, "multipart/related; boundary=b"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server():
    servers = []

    def start(delay: float = 0.0, body: bytes | None = None) -> str:
        handler = type("Handler", (Garbage,), {"delay": delay, "body": body or Garbage.body})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/dicom-web"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run_import_job(project, user) -> Job:
    from annotator.exports.dicomweb_service import queue_import
    from annotator.tasks.exports import dicomweb_import

    job = queue_import({"project": project.pk, "study": "1.2.3"}, user)
    dicomweb_import(job.pk)
    job.refresh_from_db()
    return job


def test_a_server_that_is_down_fails_the_job_and_imports_nothing(pacs_settings, project, users):
    url = f"http://127.0.0.1:{free_port()}/dicom-web"
    pacs_settings(url)
    job = run_import_job(project, users["sam"])
    assert job.state == "failed" and url in job.message and "did not answer" in job.message
    assert not Series.objects.exists()


def test_a_server_that_answers_garbage_fails_the_job_and_imports_nothing(
    fake_server, pacs_settings, project, users
):
    url = fake_server()
    pacs_settings(url)
    job = run_import_job(project, users["sam"])
    assert job.state == "failed"
    assert "WADO-RS retrieve of instance 1.2.3.4.0" in job.message and url in job.message
    assert not Series.objects.exists()


def test_two_files_for_one_instance_fail_the_job_and_import_nothing(
    fake_server, pacs_settings, project, users
):
    dicom = shared_data("dicom-mr", "pydicom_bundled", "MR_small.dcm").read_bytes()
    part = b"--b\r\nContent-Type: application/dicom\r\n\r\n" + dicom + b"\r\n"
    pacs_settings(fake_server(body=part + part + b"--b--"))
    job = run_import_job(project, users["sam"])
    assert job.state == "failed" and "more than one part for one instance" in job.message
    assert not Series.objects.exists()


def test_a_slow_server_times_out_into_a_failed_job(fake_server, pacs_settings, project, users):
    url = fake_server(delay=3.0)
    pacs_settings(url, timeout=1)
    job = run_import_job(project, users["sam"])
    assert job.state == "failed" and "QIDO-RS series search" in job.message and "ReadTimeout" in job.message
    assert not Series.objects.exists()


def test_without_a_configured_server_requests_are_400s(pacs_settings, project, client_for):
    pacs_settings("")
    answer = client_for("sam").post(
        "/api/dicomweb/import/", {"project": project.pk, "study": "1.2.3"}, format="json"
    )
    assert answer.status_code == 400 and "SPINELAB_DICOMWEB_URL" in answer.json()["detail"]


def test_a_push_of_a_series_not_from_dicom_is_refused_with_the_reason(pacs_settings, make_slices, client_for):
    pacs_settings("http://127.0.0.1:9/dicom-web")
    series_id = make_slices(1)[0].series_id
    answer = client_for("sam").post("/api/dicomweb/push/", {"series": series_id}, format="json")
    assert answer.status_code == 400 and "not DICOM" in answer.json()["detail"]


def test_annotators_cannot_import_from_the_pacs(pacs_settings, project, client_for):
    pacs_settings("http://127.0.0.1:9/dicom-web")
    answer = client_for("alice").post(
        "/api/dicomweb/import/", {"project": project.pk, "study": "1.2.3"}, format="json"
    )
    assert answer.status_code == 403
