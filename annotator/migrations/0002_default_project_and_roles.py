from django.db import migrations

from annotator.models.schema import EDITOR_KEYS, LUMBAR_CLASSES

ROLES = ("annotator", "ml_staff", "supervisor", "admin")


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Project = apps.get_model("annotator", "Project")
    LabelClass = apps.get_model("annotator", "LabelClass")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    project, created = Project.objects.get_or_create(
        slug="lumbar",
        defaults={
            "name": "Lumbar spine (12 classes)",
            "description": "Sagittal lumbar MRI, the 12 classes of the BIMCV MIDAS work.",
        },
    )
    if created:
        for index, (name, colour) in enumerate(LUMBAR_CLASSES):
            LabelClass.objects.create(project=project, index=index, name=name, colour=colour, key=EDITOR_KEYS[index])


class Migration(migrations.Migration):
    dependencies = [("annotator", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
