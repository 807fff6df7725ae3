"""Getting the dataset out (NIfTI/MIDS derivatives, nnU-Net v2, DICOM SEG, PNG pairs) and in/out of
a PACS (DICOMweb). Exports run as background Jobs on the `io` queue (annotator.tasks.exports).

- selection: what to export (project, subjects/series, revision state or a round's frozen set, track)
- nifti, nnunet, dicomseg, png: one writer per format, series by series, slice by slice
- service: queue_export / run_export / open_download / purge_expired
- dicomweb: QIDO-RS search, WADO-RS retrieve into the DICOM importer, STOW-RS push of a SEG
"""
