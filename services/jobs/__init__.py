"""Periodic jobs: one table of jobs (`JOBS`), run by `haven jobs run` (the compose `worker`).

See `table.py` to add a job, `runner.py` for how runs are claimed and recorded.
"""

from services.jobs.runner import JobResult, job_status, run_due, run_each_once
from services.jobs.table import JOBS, Job

__all__ = ["JOBS", "Job", "JobResult", "job_status", "run_due", "run_each_once"]
