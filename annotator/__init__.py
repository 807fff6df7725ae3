"""SpineLab's web platform: Django + DRF + Celery around the pure-PyTorch `mlcore`."""

from annotator.celery import app as celery_app

__all__ = ["celery_app"]
