"""Training rounds, one home per rule: launch a round, train its folds, register and promote model
versions, pre-label and rank, and the dashboard's figures. Models live in annotator/models/rounds.py;
the Celery tasks (annotator/tasks/) only adapt to `steps`.

- options: launch options, the deployment's presets, their validation (400 naming the field).
- training_set: the accepted head revisions a round trains on; the project's stable k-fold split.
- data: slices as mlcore inputs (channels, per-volume z-score, labelled samples).
- launch: launch and cancel a round (freeze data and folds, queue one job per architecture and fold).
- lifecycle: the round's Job: reopen on retry, queue finalize and pre-labelling, end it.
- steps: the round's Celery steps (train a fold, finalize, pre-label) under the Job protocol.
- training: the work of a fold job and of finalize.
- versions: model versions, the promotion gate (`apply_gate`) and `promote_model`.
- checkpoints: fold weights in the default storage.
- ranking: pre-labelling and active-learning ranking with a model version.
- effort: correction effort, stored when a slice's head changes.
- dashboard: read models for the API and pages (round summaries, IoU tables, learning curves).
"""
