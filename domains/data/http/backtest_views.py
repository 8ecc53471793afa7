"""``/api/v1/backtest/``: runs, results, re-runs, reports, optimisation, walk-forward, Monte
Carlo. Thin: parse, call one service, render.

Starting work needs the analyst role (and answers 202 with the job to follow and cancel under
``/api/v1/jobs/``); reading needs any role. Every run and study belongs to the user who started
it: another user's id answers 404, as an unknown one does (admins see everyone's).
"""

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.data.http.backtest_bodies import (
    monte_carlo_body,
    optimization_body,
    report_body,
    run_body,
    run_summary,
    walk_forward_body,
)
from domains.data.http.backtest_serializers import (
    ListQuerySerializer,
    MonteCarloBodySerializer,
    OptimizeBodySerializer,
    ReportQuerySerializer,
    ResultsQuerySerializer,
    RunBodySerializer,
    WalkForwardBodySerializer,
)
from domains.data.models import BacktestRun, MonteCarlo, Optimization, WalkForward
from domains.data.services.backtests.analytics import run_results
from domains.data.services.backtests.montecarlo import monte_carlo_start
from domains.data.services.backtests.optimize import optimize_start, search_request
from domains.data.services.backtests.reports.service import (
    CONTENT_TYPES,
    latest_report,
    report_open,
    report_start,
)
from domains.data.services.backtests.runs import backtest_rerun_start, backtest_start
from domains.data.services.backtests.selectors import run_arrays
from domains.data.services.backtests.spec import run_spec
from domains.data.services.backtests.walkforward import walk_forward_request, walk_forward_start
from dsta.kernel.permissions import (
    AnyRole,
    IsAnalyst,
    get_owned_or_404,
    owned_by_request_user,
    principal_of,
)
from dsta.quant import get_strategy, strategy_names

_ERRORS = {
    400: OpenApiResponse(
        description="invalid_input and specific codes: unknown_strategy, "
        "invalid_parameters, invalid_config, empty_range, gapped_range"
    ),
    401: OpenApiResponse(description="not signed in"),
    403: OpenApiResponse(description="not allowed"),
    404: OpenApiResponse(description="not_found (also another user's object)"),
}
_ACCEPTED = {202: OpenApiResponse(description="queued: the row and its job")}
_READ = {200: OpenApiTypes.OBJECT, **_ERRORS}


def parse(serializer_class: Any, data: Any) -> dict[str, Any]:
    """Validated data of ``serializer_class`` (400 ``invalid_input`` otherwise)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def owner_of(request: Request) -> int | None:
    """The id of the user making the request."""
    principal = principal_of(request)
    return principal.user_id if principal is not None else None


def owned_run(request: Request, run_id: str) -> BacktestRun:
    """The caller's run ``run_id`` (404 otherwise)."""
    return get_owned_or_404(BacktestRun.objects.all(), request, pk=run_id)


class _JsonNegotiation:
    """``?format=`` is these views' own parameter (report format), not DRF's renderer switch."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


class StrategiesView(APIView):
    """The registered strategies with their styles and parameter declarations."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="backtest_strategies",
        tags=["backtest"],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        return Response({"results": [get_strategy(name).describe() for name in strategy_names()]})


class RunView(APIView):
    """Start a backtest; follow it at the job URL, read it at ``results_url``."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="backtest_run",
        tags=["backtest"],
        request=RunBodySerializer,
        responses={**_ACCEPTED, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = parse(RunBodySerializer, request.data)
        spec = run_spec(
            strategy=body["strategy"],
            params=body["params"],
            series=body["series"],
            start_ms=body["start"],
            end_ms=body["end"],
            config=body["config"],
            style=body["style"],
            allow_gaps=body["allow_gaps"],
            bias_checks=body["bias_checks"],
            seed=body["seed"],
        )
        run = backtest_start(spec=spec, owner_id=owner_of(request))
        return Response(run_body(run), status=202)


class RunListView(APIView):
    """The caller's runs, newest first."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="backtest_runs",
        tags=["backtest"],
        parameters=[ListQuerySerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        query = parse(ListQuerySerializer, request.query_params)
        runs = owned_by_request_user(BacktestRun.objects.all(), request).order_by("-created_at")
        page = runs[query["offset"] : query["offset"] + query["limit"]]
        return Response(
            {
                "results": [run_summary(run) for run in page],
                "limit": query["limit"],
                "offset": query["offset"],
            }
        )


class RunDetailView(APIView):
    """One run: request, status, job, manifest, metrics, bias checks, error."""

    permission_classes = [AnyRole]

    @extend_schema(operation_id="backtest_detail", tags=["backtest"], responses=_READ)
    def get(self, request: Request, run_id: str) -> Response:
        return Response(run_body(owned_run(request, run_id)))


class ResultsView(APIView):
    """Metrics, equity and drawdown (downsampled when long), a page of trades."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="backtest_results",
        tags=["backtest"],
        parameters=[ResultsQuerySerializer],
        responses={**_READ, 409: OpenApiResponse(description="not_finished")},
    )
    def get(self, request: Request, run_id: str) -> Response:
        run = owned_run(request, run_id)
        query = parse(ResultsQuerySerializer, request.query_params)
        run_arrays(run)  # 409 not_finished before anything else is read
        return Response(
            run_results(
                run,
                max_points=query["max_points"],
                trades_limit=query["trades_limit"],
                trades_offset=query["trades_offset"],
            )
        )


class RerunView(APIView):
    """Re-run a succeeded run from its manifest; the new run's job says whether the results
    are identical (``not_reproducible`` with what changed, otherwise)."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="backtest_rerun",
        tags=["backtest"],
        request=None,
        responses={**_ACCEPTED, **_ERRORS},
    )
    def post(self, request: Request, run_id: str) -> Response:
        original = owned_run(request, run_id)
        run = backtest_rerun_start(original=original, owner_id=owner_of(request))
        return Response(run_body(run), status=202)


class ReportView(_JsonNegotiation, APIView):
    """The run's report file (``format=html|pdf``). When none is stored yet, its rendering is
    queued and the answer is 202 with the report and its job: ask again when it is done."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="backtest_report",
        tags=["backtest"],
        parameters=[ReportQuerySerializer],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="the HTML report"),
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="the PDF report"
            ),
            **_ACCEPTED,
            **_ERRORS,
        },
    )
    def get(self, request: Request, run_id: str) -> Response | FileResponse:
        run = owned_run(request, run_id)
        fmt = parse(ReportQuerySerializer, request.query_params)["format"]
        report = latest_report(run, fmt) or report_start(
            run=run, fmt=fmt, owner_id=owner_of(request)
        )
        if report.status != "succeeded":
            return Response(report_body(report), status=202)
        return report_file_response(report)


def report_file_response(report: Any) -> FileResponse:
    """The stored report as a download (inline for HTML, so a browser shows it)."""
    handle = report_open(report)
    name = f"backtest-{report.run_id}.{report.format}"
    response = FileResponse(
        handle,
        content_type=CONTENT_TYPES[report.format],
        as_attachment=report.format == "pdf",
        filename=name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class OptimizeView(APIView):
    """Start a parameter search (grid, random or Bayesian) fanned out over the workers."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="backtest_optimize",
        tags=["backtest"],
        request=OptimizeBodySerializer,
        responses={**_ACCEPTED, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = parse(OptimizeBodySerializer, request.data)
        search = search_request(
            strategy=body["strategy"],
            params=body["params"],
            series=body["series"],
            space=body["space"],
            method=body["method"],
            n_samples=body["n_samples"],
            metric=body["metric"],
            chunk_size=body["chunk_size"],
            top=body["top"],
            start_ms=body["start"],
            end_ms=body["end"],
            config=body["config"],
            style=body["style"],
            allow_gaps=body["allow_gaps"],
            seed=body["seed"],
        )
        study = optimize_start(request=search, owner_id=owner_of(request))
        return Response(optimization_body(study), status=202)


class OptimizeDetailView(APIView):
    """An optimisation: progress, the best configurations, deflated Sharpe ratio and PBO."""

    permission_classes = [AnyRole]

    @extend_schema(operation_id="backtest_optimize_detail", tags=["backtest"], responses=_READ)
    def get(self, request: Request, study_id: str) -> Response:
        study = get_owned_or_404(Optimization.objects.all(), request, pk=study_id)
        return Response(optimization_body(study))


class WalkForwardView(APIView):
    """Start a walk-forward analysis."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="backtest_walk_forward",
        tags=["backtest"],
        request=WalkForwardBodySerializer,
        responses={**_ACCEPTED, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = parse(WalkForwardBodySerializer, request.data)
        checked = walk_forward_request(
            strategy=body["strategy"],
            params=body["params"],
            series=body["series"],
            space=body["space"],
            train_bars=body["train_bars"],
            test_bars=body["test_bars"],
            step_bars=body["step_bars"],
            anchored=body["anchored"],
            method=body["method"],
            n_samples=body["n_samples"],
            metric=body["metric"],
            start_ms=body["start"],
            end_ms=body["end"],
            config=body["config"],
            style=body["style"],
            allow_gaps=body["allow_gaps"],
            seed=body["seed"],
        )
        study = walk_forward_start(request=checked, owner_id=owner_of(request))
        return Response(walk_forward_body(study), status=202)


class WalkForwardDetailView(APIView):
    """A walk-forward study: windows, out-of-sample metrics and stitched equity."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="backtest_walk_forward_detail",
        tags=["backtest"],
        responses=_READ,
    )
    def get(self, request: Request, study_id: str) -> Response:
        study = get_owned_or_404(WalkForward.objects.all(), request, pk=study_id)
        return Response(walk_forward_body(study))


class MonteCarloView(APIView):
    """Start a Monte Carlo study of a run (seeded)."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="backtest_monte_carlo",
        tags=["backtest"],
        request=MonteCarloBodySerializer,
        responses={**_ACCEPTED, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = parse(MonteCarloBodySerializer, request.data)
        run = owned_run(request, body["run_id"])
        study = monte_carlo_start(
            run=run,
            method=body["method"],
            n_sims=body["n_sims"],
            seed=body["seed"],
            ruin_level=body["ruin_level"],
            block=body["block"],
            owner_id=owner_of(request),
        )
        return Response(monte_carlo_body(study), status=202)


class MonteCarloDetailView(APIView):
    """A Monte Carlo study: distributions, probability of ruin, fan."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="backtest_monte_carlo_detail",
        tags=["backtest"],
        responses=_READ,
    )
    def get(self, request: Request, study_id: str) -> Response:
        study = get_owned_or_404(MonteCarlo.objects.all(), request, pk=study_id)
        return Response(monte_carlo_body(study))
