# Placeholder owned by the training-rounds work (issue 5): it fills in `operations`.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotator", "0002_default_project_and_roles")]
    operations: list = []
