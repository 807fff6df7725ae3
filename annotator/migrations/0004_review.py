# Placeholder owned by the review work (issue 6): it fills in `operations`.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotator", "0003_rounds")]
    operations: list = []
