"""REST endpoints for jobs: list, detail, cancel. A user sees only their own jobs; staff see
all. Another user's job, like a malformed id, is a 404 (its existence is not disclosed)."""

from typing import Any, cast

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dsta.kernel.jobs.dto import JobStatus
from dsta.kernel.jobs.selectors import LIST_LIMIT_MAX, get_job, list_jobs
from dsta.kernel.jobs.services import cancel_job


class JobErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()


class JobSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    owner_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=[s.value for s in JobStatus])
    progress = serializers.FloatField(help_text="0..1")
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    params = serializers.JSONField()
    result = serializers.JSONField(allow_null=True)
    error = JobErrorSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    cancel_requested = serializers.BooleanField()
    attempt = serializers.IntegerField()


class JobListQuerySerializer(serializers.Serializer[Any]):
    status = serializers.MultipleChoiceField(choices=[s.value for s in JobStatus], required=False)
    kind = serializers.CharField(required=False, max_length=100)
    owner_id = serializers.IntegerField(required=False, help_text="staff only")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=LIST_LIMIT_MAX)
    offset = serializers.IntegerField(required=False, min_value=0)


class JobListResponseSerializer(serializers.Serializer[Any]):
    results = JobSerializer(many=True)
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


def _owner_scope(request: Request) -> int | None:
    """None (everyone's jobs) for staff, else the caller's own id."""
    user = request.user
    return None if user.is_staff else cast(int, user.pk)


class JobListView(APIView):
    @extend_schema(
        parameters=[JobListQuerySerializer],
        responses=JobListResponseSerializer,
        operation_id="jobs_list",
        summary="The caller's jobs, newest first (staff: everyone's)",
    )
    def get(self, request: Request) -> Response:
        # A QueryDict: ?status=queued&status=running arrives as a list.
        query = JobListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        owner_id = _owner_scope(request)
        if owner_id is None:
            owner_id = params.get("owner_id")
        limit, offset = params.get("limit", 50), params.get("offset", 0)
        jobs = list_jobs(
            owner_id=owner_id,
            kinds=[params["kind"]] if "kind" in params else None,
            statuses=sorted(params["status"]) if params.get("status") else None,
            limit=limit,
            offset=offset,
        )
        return Response(
            {"results": JobSerializer(jobs, many=True).data, "limit": limit, "offset": offset}
        )


class JobDetailView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("job_id", str, OpenApiParameter.PATH)],
        responses=JobSerializer,
        operation_id="jobs_retrieve",
        summary="One job: status, progress, result or error",
    )
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobSerializer(get_job(job_id, owner_id=_owner_scope(request))).data)


class JobCancelView(APIView):
    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("job_id", str, OpenApiParameter.PATH)],
        responses=JobSerializer,
        operation_id="jobs_cancel",
        summary="Request cancellation (queued: at once; running: at its next check)",
    )
    def post(self, request: Request, job_id: str) -> Response:
        return Response(JobSerializer(cancel_job(job_id, owner_id=_owner_scope(request))).data)
