# Page aggregates (issue 17): annotator statistics read every revision of a project and decoded their
# PNGs on each view. MaskRevision now stores, once at save, its validated editing seconds and (human
# main track) its change against the pre-label it started from. Editing seconds of existing revisions
# are filled in here; their pre-label changes are computed once by the first statistics view that
# needs them (services/annotator_stats.py), so this migration never decodes masks. MaskComparison keeps
# the confusion matrix of each double/gold pair of (immutable) revisions once it has been computed.

import django.db.models.deletion
from django.db import migrations, models


def backfill_edit_seconds(apps, schema_editor):
    from annotator.services.edit_time import stored_edit_seconds

    MaskRevision = apps.get_model("annotator", "MaskRevision")
    batch = []
    for pk, meta in MaskRevision.objects.filter(source="human").values_list("pk", "meta").iterator():
        seconds = stored_edit_seconds(meta)
        if seconds is not None:
            batch.append(MaskRevision(pk=pk, edit_seconds=seconds))
        if len(batch) >= 2000:
            MaskRevision.objects.bulk_update(batch, ["edit_seconds"])
            batch = []
    MaskRevision.objects.bulk_update(batch, ["edit_seconds"])


class Migration(migrations.Migration):
    dependencies = [("annotator", "0009_round_aggregates")]

    operations = [
        migrations.AddField(
            model_name="maskrevision",
            name="edit_seconds",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="maskrevision",
            name="prelabel_change",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(backfill_edit_seconds, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="slice",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_index=True),
        ),
        migrations.AddIndex(
            model_name="maskrevision",
            index=models.Index(
                condition=models.Q(("track", "main"), _negated=True),
                fields=["track"],
                name="revision_second_track",
            ),
        ),
        migrations.CreateModel(
            name="MaskComparison",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "confusion",
                    models.JSONField(help_text="(K, K) counts: rows = other's class, columns = reference's"),
                ),
                (
                    "other",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="annotator.maskrevision",
                    ),
                ),
                (
                    "reference",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="annotator.maskrevision",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("reference", "other"), name="unique_mask_comparison")
                ]
            },
        ),
    ]
