"""Issue 17: the annotator's queue order stored on each assignment (state priority, slice rank) with
an index in that order, so "my slices" reads one index range instead of sorting every held slice."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

# The values as they were when this migration was written (annotator/models/workflow.py keeps them).
CLOSED, UNRANKED, SIDE = 9, 2**31 - 1, 1
MAIN = {"rejected": 0, "in_progress": 1, "prelabelled": 2, "unlabelled": 3}


def backfill(apps, schema_editor):
    Assignment = apps.get_model("annotator", "Assignment")
    Slice = apps.get_model("annotator", "Slice")
    main = Assignment.objects.filter(purpose="main")
    for state, priority in MAIN.items():
        main.filter(slice__state=state).update(queue_priority=priority)
    side = Assignment.objects.exclude(purpose="main")
    side.filter(completed_at__isnull=True).update(queue_priority=SIDE)
    rank = Slice.objects.filter(pk=OuterRef("slice_id")).values("rank")[:1]
    Assignment.objects.update(queue_rank=Coalesce(Subquery(rank), Value(UNRANKED)))


class Migration(migrations.Migration):

    dependencies = [
        ('annotator', '0012_slice_state_order'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='assignment',
            name='queue_priority',
            field=models.PositiveSmallIntegerField(default=9),
        ),
        migrations.AddField(
            model_name='assignment',
            name='queue_rank',
            field=models.BigIntegerField(default=2147483647),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='assignment',
            index=models.Index(condition=models.Q(('active', True)), fields=['annotator', 'queue_priority', 'queue_rank', 'slice', 'id'], name='assignment_queue_order'),
        ),
    ]
