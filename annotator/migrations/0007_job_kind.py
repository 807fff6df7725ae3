# Job.Kind (issue 16): a job's kind names its Celery task (annotator.models.jobs.TASK_NAMES); rows from
# before keep their task name in params["_task"] and stay retryable (Job.task_name reads both).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotator', '0006_projects'),
    ]

    operations = [
        migrations.AlterField(
            model_name='job',
            name='kind',
            field=models.CharField(choices=[('import', 'Import'), ('export', 'Export'), ('dicomweb_import', 'DICOMweb import'), ('dicomweb_push', 'DICOMweb push'), ('round', 'Training round'), ('train_fold', 'Train one fold'), ('finalize_round', 'Finalize a round'), ('prelabel', 'Pre-label and rank'), ('ping', 'Ping'), ('sleep', 'Sleep')], db_index=True, max_length=50),
        ),
    ]
