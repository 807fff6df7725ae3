# One CV summary shape (issue 16, mlcore.metrics.cv_summary): stored reports written before it named
# the means "mean_iou" (without background) and "mean_iou_bg" (with it), and kept "folds" as plain
# per-class lists. They are rewritten to "mean_iou_fg" / "mean_iou_all" and per-fold dicts; the
# numbers do not change.

from django.db import migrations, models


def _convert(summary):
    """A stored summary in the current shape (None when it needs no change)."""
    if not isinstance(summary, dict) or "mean_iou_fg" in summary or "classes" not in summary:
        return None
    if not isinstance(summary["classes"], list):
        return None
    from mlcore.metrics import cv_summary

    names = [c.get("name", str(i)) for i, c in enumerate(summary["classes"])]
    folds = summary.get("folds") or []
    rows = [f if isinstance(f, list) else f.get("iou", []) for f in folds]
    kept = {k: v for k, v in summary.items() if k not in ("mean_iou", "mean_iou_bg", "folds", "classes")}
    return {**kept, **cv_summary(rows, names)}


def forwards(apps, schema_editor):
    ModelVersion = apps.get_model("annotator", "ModelVersion")
    TrainingRound = apps.get_model("annotator", "TrainingRound")
    for version in ModelVersion.objects.all():
        new = _convert(version.report)
        if new is not None:
            ModelVersion.objects.filter(pk=version.pk).update(report=new)
    for rnd in TrainingRound.objects.all():
        report = dict(rnd.report or {})
        changed = False
        for arch, entry in report.items():
            new = _convert(entry)
            if new is not None:
                report[arch], changed = new, True
        gate = dict(rnd.gate or {})
        live = _convert(gate.get("live_report"))
        if live is not None:
            gate["live_report"], changed = live, True
        if changed:
            TrainingRound.objects.filter(pk=rnd.pk).update(report=report, gate=gate)


class Migration(migrations.Migration):

    dependencies = [
        ('annotator', '0007_job_kind'),
    ]

    operations = [
        migrations.AlterField(
            model_name='modelversion',
            name='report',
            field=models.JSONField(default=dict, help_text='mlcore.metrics.cv_summary'),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
