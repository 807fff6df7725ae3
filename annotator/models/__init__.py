"""SpineLab's data model, split by responsibility.

- schema: Project and its ordered LabelClass list (the label schema).
- membership: ProjectMembership, a user's role in one project.
- cases: Subject -> Session -> Series -> Slice (the unit of annotation), SourceFile (originals).
- masks: MaskRevision, the immutable label maps of a slice.
- workflow: Assignment of slices to annotators; the slice state lives on Slice.state.
- jobs: Job, the durable record of every background task.
- review: ReviewDecision (supervisor audit trail) and its pinned ReviewComments.
- rounds: ProjectSplit, TrainingRound, ModelVersion, Promotion, SimulationRun, and the stored
  correction-effort figures SliceEffort and EffortTally.
"""

from annotator.models.cases import Series, Session, Slice, SourceFile, Subject
from annotator.models.jobs import Job
from annotator.models.masks import MaskRevision
from annotator.models.membership import ProjectMembership
from annotator.models.review import ReviewComment, ReviewDecision
from annotator.models.rounds import (
    EffortTally,
    ModelVersion,
    ProjectSplit,
    Promotion,
    SimulationRun,
    SliceEffort,
    TrainingRound,
)
from annotator.models.schema import LabelClass, Project
from annotator.models.workflow import Assignment, SliceState

__all__ = [
    "Assignment",
    "EffortTally",
    "Job",
    "LabelClass",
    "MaskRevision",
    "ModelVersion",
    "Project",
    "ProjectMembership",
    "ReviewComment",
    "ReviewDecision",
    "ProjectSplit",
    "Promotion",
    "Series",
    "Session",
    "SimulationRun",
    "Slice",
    "SliceEffort",
    "SliceState",
    "SourceFile",
    "Subject",
    "TrainingRound",
]
