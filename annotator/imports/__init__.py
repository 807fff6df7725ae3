"""Case imports (MIDS/NIfTI, DICOM, PNG) into SpineLab: readers are pure, one service persists.

Entry points: `import_path(path, project, kind, label_map, user)` and
`import_upload(uploaded_file, project, kind, label_map, user)` -> ImportReport.
"""

from annotator.imports.service import import_path, import_upload
from annotator.imports.types import ImportedMask, ImportedSeries, ImportReport

__all__ = ["ImportReport", "ImportedMask", "ImportedSeries", "import_path", "import_upload"]
