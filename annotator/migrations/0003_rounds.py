# Training rounds, model registry, promotions and simulations (issue 5).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0002_default_project_and_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ModelVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(help_text='e.g. r2-UVD; names the weights folder', max_length=100)),
                ('architecture', models.CharField(max_length=50)),
                ('config', models.JSONField(default=dict, help_text='mlcore TrainConfig as a dict')),
                ('revision_ids', models.JSONField(default=list, help_text='data snapshot: revisions trained on')),
                ('fold_iou', models.JSONField(default=list, help_text='per fold, per class IoU (null = absent)')),
                ('report', models.JSONField(default=dict, help_text='mlcore.metrics.cv_report')),
                ('mean_iou', models.FloatField(blank=True, help_text='mean CV IoU without background', null=True)),
                ('mean_iou_bg', models.FloatField(blank=True, help_text='mean CV IoU with background', null=True)),
                ('weights', models.JSONField(default=list, help_text="storage path of each fold's checkpoint")),
                ('status', models.CharField(choices=[('candidate', 'Candidate'), ('live', 'Live (pre-labels)'), ('retired', 'Retired')], default='candidate', max_length=12)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='model_versions', to='annotator.project')),
            ],
            options={
                'ordering': ['project', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ProjectSplit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('k', models.PositiveSmallIntegerField()),
                ('seed', models.IntegerField(default=0)),
                ('assignment', models.JSONField(default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='splits', to='annotator.project')),
            ],
        ),
        migrations.CreateModel(
            name='Promotion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('gate', 'Promotion gate'), ('manual', 'Manual override'), ('rollback', 'Rollback')], max_length=10)),
                ('note', models.TextField(blank=True)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('previous', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='annotator.modelversion')),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='promotions', to='annotator.project')),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='promotions', to='annotator.modelversion')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='SimulationRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('curves', models.JSONField(default=dict)),
                ('raw', models.JSONField(default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='simulations', to='annotator.project')),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='TrainingRound',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField(help_text='1, 2, ... within the project')),
                ('config', models.JSONField(default=dict)),
                ('folds', models.JSONField(default=list)),
                ('revision_ids', models.JSONField(default=list, help_text='accepted main-track revisions trained on')),
                ('num_slices', models.PositiveIntegerField(default=0)),
                ('num_subjects', models.PositiveIntegerField(default=0)),
                ('report', models.JSONField(blank=True, default=dict, help_text='per architecture CV report')),
                ('gate', models.JSONField(blank=True, default=dict, help_text='promotion decision and its numbers')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('baseline', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='annotator.modelversion')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('job', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='training_round', to='annotator.job')),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rounds', to='annotator.project')),
                ('split', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='rounds', to='annotator.projectsplit')),
            ],
            options={
                'ordering': ['project', '-number'],
            },
        ),
        migrations.AddField(
            model_name='modelversion',
            name='training_round',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='versions', to='annotator.traininground'),
        ),
        migrations.AddConstraint(
            model_name='projectsplit',
            constraint=models.UniqueConstraint(fields=('project', 'k'), name='one_split_per_project_and_k'),
        ),
        migrations.AddConstraint(
            model_name='traininground',
            constraint=models.UniqueConstraint(fields=('project', 'number'), name='unique_round_number'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(fields=('project', 'label'), name='unique_model_label'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'live')), fields=('project',), name='one_live_model_per_project'),
        ),
    ]
