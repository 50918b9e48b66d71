"""Corpus transcription: many files, resumable, on worker processes or on a Ray cluster.

``inputs`` turns folders, globs, manifests and lists into files with stable output names;
``records`` keeps the append-only record log and the subtitle files beside it; ``work`` is the
per-worker job both engines run (one ``Transcriber`` per worker); ``local`` and
``ray_engine`` are the two engines; ``run`` is the driver that ties them together; ``cli`` is
the ``specwhisper corpus`` command.
"""
