# Stored correction effort (issue 17): the rounds dashboard read every human head and its pre-label as
# PNGs on each view. SliceEffort keeps each slice's figures (refreshed when its main-track head
# changes, annotator/signals.py) and EffortTally their sums per project, pre-label source and class.
# The figures of existing slices are computed here once (annotator/rounds/effort.py does the same).

import django.db.models.deletion
import numpy as np
from django.db import migrations, models


def backfill(apps, schema_editor):
    from annotator.services.edit_time import stored_edit_seconds
    from annotator.services.maskcodec import decode_mask

    Slice = apps.get_model("annotator", "Slice")
    MaskRevision = apps.get_model("annotator", "MaskRevision")
    LabelClass = apps.get_model("annotator", "LabelClass")
    SliceEffort = apps.get_model("annotator", "SliceEffort")
    EffortTally = apps.get_model("annotator", "EffortTally")
    sizes = {}
    tallies = {}
    heads = Slice.objects.filter(head_revision__source="human", head_revision__track="main").values_list(
        "pk", "head_revision_id", "series__session__subject__project_id"
    )
    for slice_id, head_id, project_id in heads.iterator():
        if project_id not in sizes:
            sizes[project_id] = LabelClass.objects.filter(project_id=project_id).count()
        k = sizes[project_id]
        head = MaskRevision.objects.get(pk=head_id)
        seconds, node = 0.0, head
        while node is not None and node.source == "human":
            seconds += stored_edit_seconds(node.meta) or 0.0
            node = MaskRevision.objects.filter(pk=node.parent_id, track="main").first() if node.parent_id else None
        row = {"source": 0, "edit_ms": round(seconds * 1000), "changed": 0, "pixels": 0,
               "class_changed": [0] * k, "class_pixels": [0] * k}
        if node is not None and node.source == "model":
            human, model = decode_mask(bytes(head.png)), decode_mask(bytes(node.png))
            changed = human != model
            row.update(
                source=int((node.meta or {}).get("model_version") or 0),
                changed=int(changed.sum()),
                pixels=int(changed.size),
                class_changed=[int(v) for v in np.bincount(model[changed].ravel(), minlength=k)[:k]],
                class_pixels=[int(v) for v in np.bincount(model.ravel(), minlength=k)[:k]],
            )
        SliceEffort.objects.create(slice_id=slice_id, project_id=project_id, **row)
        whole = tallies.setdefault((project_id, row["source"], -1), dict.fromkeys(
            ("slices", "timed", "edit_ms", "changed", "pixels"), 0))
        whole["slices"] += 1
        whole["timed"] += 1 if row["edit_ms"] > 0 else 0
        for name in ("edit_ms", "changed", "pixels"):
            whole[name] += row[name]
        for c, (ch, px) in enumerate(zip(row["class_changed"], row["class_pixels"], strict=True)):
            if ch or px:
                cls = tallies.setdefault((project_id, row["source"], c), {"changed": 0, "pixels": 0})
                cls["changed"] += ch
                cls["pixels"] += px
    for (project_id, source, class_index), sums in tallies.items():
        EffortTally.objects.create(project_id=project_id, source=source, class_index=class_index, **sums)


class Migration(migrations.Migration):

    dependencies = [
        ('annotator', '0008_cv_summary_keys'),
    ]

    operations = [
        migrations.CreateModel(
            name='SliceEffort',
            fields=[
                ('slice', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='annotator.slice')),
                ('source', models.PositiveIntegerField(default=0)),
                ('edit_ms', models.BigIntegerField(default=0, help_text='editing time summed over the human chain')),
                ('changed', models.BigIntegerField(default=0, help_text='pixels changed from the pre-label')),
                ('pixels', models.BigIntegerField(default=0, help_text='pixels compared (0 when drawn from scratch)')),
                ('class_changed', models.JSONField(default=list, help_text='per class of the pre-label')),
                ('class_pixels', models.JSONField(default=list, help_text='per class of the pre-label')),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='annotator.project')),
            ],
        ),
        migrations.CreateModel(
            name='EffortTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.PositiveIntegerField(help_text='model version id; 0 = drawn from scratch')),
                ('class_index', models.SmallIntegerField()),
                ('slices', models.BigIntegerField(default=0)),
                ('timed', models.BigIntegerField(default=0)),
                ('edit_ms', models.BigIntegerField(default=0)),
                ('changed', models.BigIntegerField(default=0)),
                ('pixels', models.BigIntegerField(default=0)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='annotator.project')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('project', 'source', 'class_index'), name='one_effort_tally_row')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
