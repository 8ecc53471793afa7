"""Background work: dramatiq broker setup, tracked jobs with progress and cancel, orphan
recovery and a single-instance periodic scheduler.

The public surface is :mod:`dsta.kernel.jobs.api`; see ``docs/jobs.md``.
"""
