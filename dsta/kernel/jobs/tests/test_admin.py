"""Admin: jobs are listed read-only and can be cancelled in bulk."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dsta.kernel.jobs.models import Job, ScheduledRun, SchedulerLease

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    user = get_user_model().objects.create_superuser(
        username=f"root-{uuid.uuid4().hex[:6]}", password="x", email="root@example.com"
    )
    client = Client()
    client.force_login(user)
    return client


def test_job_pages_render_and_are_read_only(admin_client_):
    job = Job.objects.create(kind="data.ingest", owner_id=1, params={"symbol": "BTC/USDT"})
    assert admin_client_.get("/admin/jobs/job/").status_code == 200
    detail = admin_client_.get(f"/admin/jobs/job/{job.pk}/change/")
    assert detail.status_code == 200
    assert b'name="kind"' not in detail.content  # no editable inputs
    assert admin_client_.get("/admin/jobs/job/add/").status_code == 403
    assert admin_client_.get("/admin/jobs/scheduledrun/").status_code == 200
    assert admin_client_.get("/admin/jobs/schedulerlease/").status_code == 200
    assert ScheduledRun.objects.count() == SchedulerLease.objects.count() == 0


def test_cancel_action(admin_client_):
    queued = Job.objects.create(kind="data.ingest")
    done = Job.objects.create(kind="data.ingest", status=Job.Status.SUCCEEDED)
    response = admin_client_.post(
        "/admin/jobs/job/",
        {
            "action": "cancel_selected",
            "index": 0,
            "_selected_action": [str(queued.pk), str(done.pk)],
        },
        follow=True,
    )
    assert response.status_code == 200
    assert b"Cancel requested for 1 job(s); 1 already finished" in response.content
    queued.refresh_from_db()
    done.refresh_from_db()
    assert (queued.status, done.status) == (Job.Status.CANCELLED, Job.Status.SUCCEEDED)
