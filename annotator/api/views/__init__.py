"""Core API views, split by responsibility: cases (me, projects, subjects, series), slices
(list/detail/history/submit/next), pixels (image and mask bytes), work (assignments, jobs, imports)."""
