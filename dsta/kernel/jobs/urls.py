"""Routes under ``/api/v1/jobs/``."""

from django.urls import path

from dsta.kernel.jobs.http import JobCancelView, JobDetailView, JobListView

app_name = "jobs"

urlpatterns = [
    path("", JobListView.as_view(), name="list"),
    path("<str:job_id>/", JobDetailView.as_view(), name="detail"),
    path("<str:job_id>/cancel/", JobCancelView.as_view(), name="cancel"),
]
