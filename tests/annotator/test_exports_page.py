"""The exports page: who sees it, what it offers, and links to it from the cases and round pages."""

from __future__ import annotations

import pytest
from django.test import Client

from annotator.models import Job, ProjectSplit, TrainingRound


@pytest.fixture
def browser(users):
    def login(name: str) -> Client:
        client = Client()
        client.force_login(users[name])
        return client

    return login


def test_supervisors_get_the_export_form_and_annotators_do_not(browser, project):
    page = browser("sam").get("/exports/")
    assert page.status_code == 200
    html = page.content.decode()
    for fmt in ("nifti", "nnunet", "dicom-seg", "png"):
        assert f'value="{fmt}"' in html
    assert "No DICOMweb server is configured" in html
    assert browser("alice").get("/exports/").status_code == 403


def test_the_page_shows_the_configured_pacs_and_recent_export_jobs(browser, project, settings):
    settings.SPINELAB = {**settings.SPINELAB, "DICOMWEB_URL": "http://pacs.example/dicom-web"}
    job = Job.objects.create(kind="export", state="succeeded", params={"format": "png"}, result={"file": "x"})
    html = browser("mia").get("/exports/").content.decode()
    assert "http://pacs.example/dicom-web" in html
    assert f'href="/api/exports/{job.pk}/download/"' in html


def test_a_round_page_links_to_exporting_its_training_set(browser, project):
    split = ProjectSplit.objects.create(project=project, k=2, seed=0, assignment={})
    rnd = TrainingRound.objects.create(
        project=project, number=3, job=Job.objects.create(kind="round"), split=split, folds=[[], []]
    )
    html = browser("mia").get(f"/rounds/{rnd.pk}/").content.decode()
    assert f"/exports/?project={project.slug}&amp;round=3" in html
    export_page = browser("mia").get(f"/exports/?project={project.slug}&round=3").content.decode()
    assert '<option value="3" selected>' in export_page


def test_the_case_list_links_to_the_exports_page(browser, project):
    assert 'href="/exports/"' in browser("sam").get("/").content.decode()
