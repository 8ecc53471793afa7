"""The REST endpoints: own jobs only, staff see all, 404 for others' and malformed ids."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from dsta.kernel.jobs.models import Job

pytestmark = pytest.mark.django_db

URL = "/api/v1/jobs/"


@pytest.fixture
def alice():
    return get_user_model().objects.create_user(username=f"alice-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def bob():
    return get_user_model().objects.create_user(username=f"bob-{uuid.uuid4().hex[:6]}")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_list_shows_only_the_callers_jobs(alice, bob):
    mine = Job.objects.create(kind="data.ingest", owner_id=alice.pk, params={"symbol": "BTC/USDT"})
    Job.objects.create(kind="data.ingest", owner_id=bob.pk)
    Job.objects.create(kind="ops.prune", owner_id=None)

    response = client_for(alice).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [job["id"] for job in body["results"]] == [str(mine.pk)]
    first = body["results"][0]
    assert first["status"] == "queued"
    assert first["params"] == {"symbol": "BTC/USDT"}
    assert first["error"] is None
    assert (body["limit"], body["offset"]) == (50, 0)


def test_staff_see_everyones_jobs_and_can_filter(alice, bob):
    staff = get_user_model().objects.create_user(
        username=f"ops-{uuid.uuid4().hex[:6]}", is_staff=True
    )
    a = Job.objects.create(kind="data.ingest", owner_id=alice.pk)
    b = Job.objects.create(kind="ml.train", owner_id=bob.pk, status=Job.Status.RUNNING)
    client = client_for(staff)

    assert {j["id"] for j in client.get(URL).json()["results"]} == {str(a.pk), str(b.pk)}
    by_owner = client.get(URL, {"owner_id": bob.pk}).json()["results"]
    assert [j["id"] for j in by_owner] == [str(b.pk)]
    by_status = client.get(URL, {"status": ["running", "failed"]}).json()["results"]
    assert [j["id"] for j in by_status] == [str(b.pk)]
    by_kind = client.get(URL, {"kind": "data.ingest"}).json()["results"]
    assert [j["id"] for j in by_kind] == [str(a.pk)]


def test_detail_shows_progress_and_error(alice):
    job = Job.objects.create(
        kind="data.ingest",
        owner_id=alice.pk,
        status=Job.Status.FAILED,
        progress=0.5,
        done=5,
        total=10,
        message="BTC/USDT 2024-01-01",
        error={"code": "venue_unavailable", "message": "binance is down"},
    )
    response = client_for(alice).get(f"{URL}{job.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["progress"], body["done"], body["total"]) == (0.5, 5, 10)
    assert body["status"] == "failed"
    assert body["error"] == {"code": "venue_unavailable", "message": "binance is down"}


def test_another_users_job_is_not_found(alice, bob):
    theirs = Job.objects.create(kind="data.ingest", owner_id=bob.pk)
    client = client_for(alice)

    for response in (
        client.get(f"{URL}{theirs.pk}/"),
        client.post(f"{URL}{theirs.pk}/cancel/"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert Job.objects.get(pk=theirs.pk).status == Job.Status.QUEUED


@pytest.mark.parametrize("job_id", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_malformed_or_unknown_id_is_not_found(alice, job_id):
    client = client_for(alice)
    for response in (client.get(f"{URL}{job_id}/"), client.post(f"{URL}{job_id}/cancel/")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_cancel_own_queued_job(alice):
    job = Job.objects.create(kind="data.ingest", owner_id=alice.pk)
    response = client_for(alice).post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED


def test_cancel_a_finished_job_is_a_conflict(alice):
    job = Job.objects.create(kind="data.ingest", owner_id=alice.pk, status=Job.Status.SUCCEEDED)
    response = client_for(alice).post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    "query",
    [
        {"status": "exploded"},
        {"limit": "0"},
        {"limit": "100000"},
        {"offset": "-1"},
        {"limit": "many"},
    ],
)
def test_bad_list_parameters_are_400(alice, query):
    response = client_for(alice).get(URL, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_anonymous_callers_are_refused():
    response = APIClient().get(URL)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("unauthenticated", "forbidden")


def test_a_user_cannot_widen_the_list_with_owner_id(alice, bob):
    Job.objects.create(kind="data.ingest", owner_id=bob.pk)
    body = client_for(alice).get(URL, {"owner_id": bob.pk}).json()
    assert body["results"] == []
