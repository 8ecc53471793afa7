"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright against the
real ASGI server (a uvicorn child process on the test database).

Skips when /usr/bin/chromium or the playwright package is missing, except under CI=true, where
that is a failure. Playwright's own browser download is never used (no ``playwright install``).
"""

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from dsta.kernel.jobs.models import Job
from dsta.kernel.rpc.testing import LiveServer, current_database_url, live_server_process_running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple 42"
# Playwright waits this long (ms) for something to appear: the child is on a busy machine.
WAIT_MS = 15_000
IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOT = Path(settings.VAR_DIR) / "screenshots" / "dashboard.png"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sync_playwright() -> Any:
    """Playwright's sync entry point, once Chromium and the package are known to be here."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[dev]')")
    return sync_playwright


@pytest.fixture(scope="module")
def dashboard_server(
    sync_playwright: Any, django_db_setup: None, django_db_blocker: Any
) -> Iterator[LiveServer]:
    """uvicorn serving dsta.asgi on the test database; DEBUG so whitenoise finds the static
    files without collectstatic (the container image collects them)."""
    with django_db_blocker.unblock():
        database_url = current_database_url()
    # The paper feed remembers per process when it last looked for a stored candle to seed a
    # symbol's book from (60 s by default); the database is emptied between tests, so every
    # test looks again.
    env = {"DEBUG": "true", "LOG_FORMAT": "text", "EXCHANGE_PAPER_SEED_RETRY_SECONDS": "0"}
    with live_server_process_running(database_url=database_url, token="", env=env) as server:
        yield server


@contextmanager
def browser_page(
    sync_playwright: Any, server: LiveServer, expected_errors: tuple[str, ...] = ()
) -> Iterator[Any]:
    """A fresh Chromium page; uncaught page errors and console errors fail the test (the
    server's log is printed when the test fails)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Console errors too: a CSP violation, a missing file, a socket that failed.
        page.on(
            "console",
            lambda message: (
                errors.append(f"{message.text} [{message.location.get('url', '')}]")
                if message.type == "error"
                else None
            ),
        )
        try:
            yield page
        except BaseException:
            print(server.log_tail())
            raise
        finally:
            browser.close()
        unexpected = [e for e in errors if not any(part in e for part in expected_errors)]
        assert unexpected == [], unexpected


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/")
    # "/" -> "/dashboard/" -> the login page, which remembers where to go back to.
    assert page.url == f"{server.url}/dashboard/login/?next=/dashboard/"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/dashboard/")
    page.wait_for_selector("body[data-ready=true]")


def csrf_headers(page: Any, server: LiveServer) -> dict[str, str]:
    """What the page's own scripts send on unsafe requests (token from the cookie)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token, "Referer": f"{server.url}/dashboard/"}


def import_real_day(shared_data: Path, name: str, symbol: str) -> None:
    """A real day of Binance 1m candles, stored through the data domain's command."""
    call_command(
        "import_candles",
        str(shared_data / "candles" / "live_trading_indicators" / name),
        venue="binance",
        symbol=symbol,
        timeframe="1m",
        stdout=StringIO(),
        stderr=StringIO(),
    )


@pytest.mark.django_db(transaction=True)
def test_an_admin_flips_the_kill_switch_and_sees_live_updates(
    sync_playwright: Any, dashboard_server: LiveServer, shared_data: Path
) -> None:
    server = dashboard_server
    import_real_day(shared_data, "BTCUSDT-1m-2022-09-05.csv", "BTC/USDT")
    admin = User.objects.create_superuser(username="ada", email="", password=PASSWORD)
    now = timezone.now()
    running = Job.objects.create(
        kind="data.ingest",
        owner_id=admin.pk,
        status=Job.Status.RUNNING,
        progress=0.42,
        done=42,
        total=100,
        message="binance BTC/USDT 1m: 2024-03",
        started_at=now,
        created_at=now - timedelta(minutes=3),
    )
    queued = Job.objects.create(kind="data.backtest", owner_id=admin.pk, created_at=now)

    # The one 404 is asked for on purpose, to see its error toast.
    with browser_page(sync_playwright, server, ("/api/v1/config/no.such_key",)) as page:
        sign_in(page, server, "ada")

        # An alert sent before the page loads shows up from the history.
        sent = page.request.post(
            f"{server.url}/api/v1/notifications/send",
            data={
                "subject": "Drawdown above 5%",
                "body": "Paper account main: -5.3% today.",
                "priority": "high",
                "channels": ["in_app"],
            },
            headers=csrf_headers(page, server),
        )
        assert sent.status == 202, sent.text()
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#alerts-list >> text=Drawdown above 5%")

        # The market panel: the stored series, its candles drawn, the stream subscribed.
        page.wait_for_selector("#market-series:enabled")
        assert page.inner_text("#market-series") == "binance · BTC/USDT · 1m"
        page.wait_for_selector("#market-chart canvas")
        page.wait_for_selector("#panel-market[data-ws-state=open]")
        assert page.inner_text("#market-price") == "19,784.90"  # the day's last close
        assert "500 candles" in page.inner_text("#market-meta")
        assert page.locator("#market-synthetic").is_hidden()  # real prices, no badge
        page.click("[data-mode=line]")
        page.wait_for_selector("#market-line canvas")
        assert page.locator("#market-chart").is_hidden()
        page.click("[data-mode=candles]")

        # The config panel: listed keys, the kill switch, the watch socket connected.
        page.wait_for_selector("#panel-config[data-ws-state=open]")
        page.wait_for_selector("#config-table tr[data-key='trading.kill_switch']")
        switch = page.locator("#kill-switch")
        assert switch.get_attribute("aria-checked") == "false"
        assert switch.is_enabled()

        # Flip it from the page: PUT with the CSRF token from the cookie.
        switch.click()
        page.wait_for_selector("#kill-switch[aria-checked=true]")
        page.wait_for_selector("#kill-switch-card[data-halted=true]")
        page.wait_for_selector(".toast >> text=Trading halted.")
        assert "TRADING HALTED" in page.inner_text("#kill-switch-state")

        # Someone else resumes trading through the API: only the watch socket can tell the page.
        resumed = page.request.put(
            f"{server.url}/api/v1/config/trading.kill_switch",
            data={"value": False, "reason": "resumed elsewhere", "expected_version": 1},
            headers=csrf_headers(page, server),
        )
        assert resumed.status == 200, resumed.text()
        page.wait_for_selector("#kill-switch[aria-checked=false]")
        page.wait_for_selector("#config-table tr[data-key='trading.kill_switch'][data-version='2']")
        assert page.inner_text("#connection-status .conn-label") == "Live"

        # Jobs: progress bars, and cancelling the queued one through the API.
        page.wait_for_selector(f"#jobs-table tr[data-job-id='{running.id}'][data-status=running]")
        bar = page.locator(f"tr[data-job-id='{running.id}'] .progress")
        assert bar.get_attribute("aria-valuenow") == "42"
        page.click(f"tr[data-job-id='{queued.id}'] button")
        page.wait_for_selector(f"tr[data-job-id='{queued.id}'][data-status=cancelled]")
        assert page.locator(f"tr[data-job-id='{running.id}'] button").is_visible()

        # An API error shows as a toast with its code.
        status = page.evaluate(
            """async () => {
                const api = await import("/static/dashboard/js/api.js");
                const toasts = await import("/static/dashboard/js/toast.js");
                try {
                    await api.apiFetch("/api/v1/config/no.such_key");
                } catch (error) {
                    toasts.toastError(error, "Lookup");
                    return [error.status, error.code];
                }
            }"""
        )
        assert status == [404, "config_key_unknown"]
        page.wait_for_selector(".toast-error >> text=config_key_unknown")

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.mouse.move(900, 300)  # a crosshair on the candles
        page.screenshot(path=str(SCREENSHOT), full_page=True, animations="disabled")

    # The page's write really happened (version 1), then the outside one (version 2).
    queued.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_viewer_cannot_flip_the_kill_switch_and_can_sign_out(
    sync_playwright: Any, dashboard_server: LiveServer
) -> None:
    server = dashboard_server
    viewer = User.objects.create_user(username="vera", password=PASSWORD)
    viewer.groups.add(Group.objects.get_or_create(name="viewer")[0])

    with browser_page(sync_playwright, server) as page:
        sign_in(page, server, "vera")
        page.wait_for_selector("#kill-switch-card:not([hidden])")
        assert page.locator("#kill-switch").is_disabled()
        # Controls the API would refuse a viewer are not offered: no new backtest, no paper
        # account to open, the way to get one said instead.
        page.wait_for_selector("#panel-orders >> text=No exchange account yet.")
        assert "paper_account create" in page.inner_text("#panel-orders")
        assert page.locator("#orders-open-paper").count() == 0
        page.wait_for_selector("#backtests-table, #panel-backtests .empty")
        assert page.locator("#backtest-new").is_hidden()
        # The API refuses the write too (the page only hides what would fail).
        refused = page.request.put(
            f"{server.url}/api/v1/config/trading.kill_switch",
            data={"value": True},
            headers=csrf_headers(page, server),
        )
        assert refused.status == 403
        assert refused.json()["error"]["code"]

        page.click("#logout")
        page.wait_for_url(f"{server.url}/dashboard/login/")
        page.goto(f"{server.url}/dashboard/")
        assert page.url.startswith(f"{server.url}/dashboard/login/")


@pytest.mark.django_db(transaction=True)
def test_the_pure_helpers_behave_in_the_browser(
    sync_playwright: Any, dashboard_server: LiveServer
) -> None:
    """Backoff, chart ticks and the market-data parsing, run by the browser's own engine."""
    server = dashboard_server
    with browser_page(sync_playwright, server) as page:
        page.goto(f"{server.url}/dashboard/login/")
        result = page.evaluate(
            """async () => {
                const ws = await import("/static/dashboard/js/ws.js");
                const common = await import("/static/dashboard/js/charts/common.js");
                const md = await import("/static/dashboard/js/market-data.js");
                const delays = [0, 1, 2, 3, 10, 20].map((n) => [
                    ws.backoffDelay(n, { min: 500, max: 30000, random: () => 0 }),
                    ws.backoffDelay(n, { min: 500, max: 30000, random: () => 0.999999 }),
                ]);
                return {
                    delays,
                    ticks: common.niceTicks(101.3, 108.9, 4),
                    page: md.normalizeOhlcv({
                        synthetic: false,
                        candles: [
                            {open_time: 1700000000000, open: 1, high: 3, low: 0.5, close: 2,
                             volume: 10, complete: true, synthetic: false},
                            {open_time: 1700000060000, open: 2, high: 4, low: 1.5, close: 3,
                             volume: null, complete: true, synthetic: true},
                        ],
                    }),
                    frame: md.parseStreamFrame({
                        type: "candle", closed: false, synthetic: false,
                        candle: {open_time: 1700000120000, open: 3, high: 3, low: 3, close: 3,
                                 volume: 1},
                    }),
                    refused: md.parseStreamFrame({error: {code: "invalid_input", message: "x"}}),
                    seconds: md.toMillis(1700000000),
                    iso: md.toMillis("2023-11-14T22:13:20Z"),
                };
            }"""
        )
    # Exponential, jittered within [half, full] of min * 2^n, capped at 30 s.
    assert result["delays"][0] == [250, 500]
    assert result["delays"][1] == [500, 1000]
    assert result["delays"][3] == [2000, 4000]
    assert result["delays"][4] == [15000, 30000]
    assert result["delays"][5] == [15000, 30000]
    assert result["ticks"] == [102, 104, 106, 108]
    page = result["page"]
    # One made-up bar makes the page synthetic; a missing volume draws as none.
    assert page["synthetic"] is True
    assert [c["t"] for c in page["candles"]] == [1_700_000_000_000, 1_700_000_060_000]
    assert page["candles"][1]["v"] == 0
    assert result["frame"]["kind"] == "candle"
    assert result["frame"]["candle"]["closed"] is False
    assert result["refused"]["kind"] == "error"
    assert result["seconds"] == result["iso"] == 1_700_000_000_000


# Runs a ReconnectingSocket (fast backoff) until it settles in a final state; its state list.
SOCKET_STATES_JS = """async (path) => {
    const ws = await import("/static/dashboard/js/ws.js");
    return await new Promise((resolve) => {
        const seen = [];
        const socket = new ws.ReconnectingSocket(path, {
            minDelay: 20, maxDelay: 80, unavailableAfter: 3,
            onState: (state) => {
                seen.push(state);
                if (["unauthorized", "rejected", "unavailable"].includes(state)) {
                    const settled = seen.slice();
                    socket.stop();
                    resolve(settled);
                }
            },
        });
        socket.start();
    });
}"""


@pytest.mark.django_db(transaction=True)
def test_the_reconnecting_socket_reads_the_servers_close_codes(
    sync_playwright: Any, dashboard_server: LiveServer
) -> None:
    """Against the real server: 4401 (signed out) and 4400 (bad request) stop the retries; a
    route the server lacks is "unavailable" after three failed tries."""
    server = dashboard_server
    User.objects.create_user(username="vera", password=PASSWORD).groups.add(
        Group.objects.get_or_create(name="viewer")[0]
    )
    # The browser logs each refused handshake of the missing route as a console error.
    with browser_page(sync_playwright, server, ("/api/v1/no-such-stream",)) as page:
        page.goto(f"{server.url}/dashboard/login/")
        signed_out = page.evaluate(SOCKET_STATES_JS, "/api/v1/config/watch")
        # The server accepts, then closes with 4401 (so the client sees the code).
        assert signed_out == ["connecting", "open", "unauthorized"]
        missing = page.evaluate(SOCKET_STATES_JS, "/api/v1/no-such-stream")
        assert missing[0] == "connecting"
        assert missing[-1] == "unavailable"
        assert "open" not in missing

        sign_in(page, server, "vera")
        # No venue or timeframe: the stream answers an error frame and closes with 4400.
        refused = page.evaluate(SOCKET_STATES_JS, "/api/v1/market-data/stream/BTC-USDT")
        assert refused == ["connecting", "open", "rejected"]


# Counts the drawn pixels of a chart canvas: in the top 60 % (the equity line and its area)
# and, below that, those in the "down" colour (the drawdown pane's fill and line).
CANVAS_PIXELS_JS = """(selector) => {
    const canvas = document.querySelector(selector);
    if (!canvas || !canvas.width || !canvas.height) return null;
    const { data, width, height } = canvas.getContext("2d")
        .getImageData(0, 0, canvas.width, canvas.height);
    let upper = 0;
    let red = 0;
    for (let y = 0; y < height; y += 2) {
        for (let x = 0; x < width; x += 2) {
            const i = (y * width + x) * 4;
            if (data[i + 3] === 0) continue;
            const reddish = data[i] > data[i + 1] + 40 && data[i] > data[i + 2] + 40;
            if (y < height * 0.6) upper += 1;
            else if (reddish) red += 1;
        }
    }
    return { upper, red };
}"""


def _percent(value: float) -> str:
    """formatPercent(value, {signed: true}) of format.js."""
    text = f"{value * 100:.2f}%"
    return f"+{text}" if value > 0 else text


@pytest.mark.django_db(transaction=True)
def test_backtests_orders_and_venues_panels_show_real_data(
    sync_playwright: Any, dashboard_server: LiveServer, shared_data: Path
) -> None:
    server = dashboard_server
    import_real_day(shared_data, "BTCUSDT-1m-2022-09-05.csv", "BTC/USDT")
    User.objects.create_superuser(username="ada", email="", password=PASSWORD)
    # A finished run of ada's, computed by the data domain's command (no worker needed).
    call_command(
        "backtest",
        strategy="sma_crossover",
        param=["fast=10", "slow=50"],
        venue="binance",
        symbol=["BTC/USDT"],
        timeframe="1m",
        owner="ada",
        no_progress=True,
        stdout=StringIO(),
        stderr=StringIO(),
    )

    # Refusals the page provokes on purpose: the browser logs each 4xx as a console error.
    expected = ("/api/v1/backtest/run", "/api/v1/exchange/paper/order")
    with browser_page(sync_playwright, server, expected) as page:
        sign_in(page, server, "ada")
        runs = page.request.get(f"{server.url}/api/v1/backtest/runs").json()["results"]
        assert [run["status"] for run in runs] == ["succeeded"]
        run = runs[0]

        # --- backtests: the finished run is selected, its metrics and equity drawn -------------
        page.wait_for_selector(
            f"#backtests-table tr[data-run-id='{run['id']}'][data-status=succeeded]"
        )
        page.wait_for_selector(f"#backtest-detail[data-run-id='{run['id']}'] #backtest-metrics")
        shown = page.inner_text("#backtest-metrics [data-metric=total_return] dd")
        assert shown == _percent(run["total_return"])
        results = page.request.get(f"{server.url}/api/v1/backtest/{run['id']}/results").json()
        trades = results["metrics"]["trades"]
        assert page.inner_text("#backtest-metrics [data-metric=trades] dd") == f"{trades:,}"
        assert page.inner_text("#backtest-trades-count").startswith(
            f"{results['trades']['count']:,} trade"
        )
        assert "lookahead passed" in page.inner_text("#backtest-bias")
        page.wait_for_function(
            f"() => {{ const p = ({CANVAS_PIXELS_JS})('#backtest-equity canvas');"
            " return p && p.upper > 500 && p.red > 50; }"
        )

        # The report: none stored yet, so the API queues its rendering (202) and the page says so.
        page.click("#backtest-report")
        page.wait_for_selector(".toast >> text=Rendering the report")
        assert page.inner_text("#backtest-report") == "Rendering report…"

        # A new run from the form: a refusal first (fast must be below slow), with its reason.
        page.click("#backtest-new")
        page.wait_for_selector("#backtest-strategy option[value=sma_crossover]", state="attached")
        page.select_option("#backtest-strategy", "sma_crossover")
        page.fill("#backtest-param-fast", "60")
        page.fill("#backtest-param-slow", "20")
        page.click("#backtest-submit")
        page.wait_for_selector(".toast-error >> text=invalid_parameters")
        page.fill("#backtest-param-fast", "5")
        page.click("#backtest-submit")
        page.wait_for_selector(".toast >> text=Backtest queued")
        # No worker runs in this server: the run stays queued, with its job's progress shown.
        page.wait_for_selector("#backtests-table tr[data-status=queued]")
        page.wait_for_selector("#backtest-detail[data-status=queued] #backtest-progress")
        assert page.locator("#backtest-form").is_hidden()
        queued = page.request.get(f"{server.url}/api/v1/backtest/runs").json()["results"][0]
        assert queued["status"] == "queued"
        assert queued["params"] == {"fast": 5, "slow": 20, "direction": "long"}

        # --- venues: every venue of /exchange/health, as the API reports it --------------------
        health = page.request.get(f"{server.url}/api/v1/exchange/health").json()["venues"]
        page.wait_for_selector("#venues-list [data-venue=paper][data-state=up]")
        for status in health:
            card = f"#venues-list [data-venue={status['venue']}]"
            assert page.get_attribute(card, "data-breaker") == status["breaker"]
            bars = page.locator(f"{card} .limit")
            assert bars.count() == len(status["rate_limits"])
            for rate in status["rate_limits"]:
                bar = page.locator(f"{card} .limit[data-bucket={rate['bucket']}] .progress")
                percent = round(min(1, rate["in_use"] / rate["limit"]) * 1000) / 10
                assert float(bar.get_attribute("aria-valuenow")) == pytest.approx(percent)
            # The clock offset where the API reports one (the paper venue has no clock).
            offset_shown = page.locator(f"{card} [data-fact=clock-offset]").count() == 1
            assert offset_shown == (
                "clock_offset_ms" in status
                and (status["clock_offset_ms"] is not None or status["venue"] != "paper")
            )

        # --- orders: no account yet; open a paper one from the panel ----------------------------
        page.wait_for_selector("#panel-orders >> text=No exchange account yet.")
        page.click("#orders-open-paper")
        page.wait_for_selector("#order-ticket:not([hidden])")
        page.wait_for_selector("#panel-orders[data-ws-state=open]")
        page.wait_for_selector("#orders-balances tr[data-asset=USDT]")
        assert page.inner_text("#orders-balances tr[data-asset=USDT] td:nth-child(2)") == "10000"

        # Refused by the API: under the market's minimum notional (5 USDT), with the reason.
        page.fill("#ticket-amount", "0.00001")
        page.fill("#ticket-price", "15000")
        page.click("#ticket-submit")
        page.wait_for_selector(".toast-error >> text=below_minimum")

        # A resting limit buy from the ticket: listed, funds locked (amount x price x 1.001).
        # It rests below the paper book, which is seeded from the stored day (BTC near 19 800).
        page.fill("#ticket-amount", "0.01")
        page.click("#ticket-submit")
        page.wait_for_selector("#orders-table tr[data-status=open]")
        mine = page.get_attribute("#orders-table tr[data-status=open]", "data-client-order-id")
        page.wait_for_selector("#orders-balances tr[data-asset=USDT] >> text=150.15")

        # An order placed elsewhere (the API, as a bot would) arrives over the stream alone.
        placed = page.request.post(
            f"{server.url}/api/v1/exchange/paper/order",
            data={
                "symbol": "ETH-USDT",
                "side": "buy",
                "type": "limit",
                "amount": "0.5",
                "price": "1500",
            },
            headers=csrf_headers(page, server),
        )
        assert placed.status == 201, placed.text()
        other = placed.json()["client_order_id"]
        page.wait_for_selector(
            f"#orders-table tr[data-client-order-id='{other}'][data-status=open]"
        )

        # A marketable order fills against the seeded book: the fill is pushed to the panel.
        taken = page.request.post(
            f"{server.url}/api/v1/exchange/paper/order",
            data={"symbol": "BTC-USDT", "side": "buy", "type": "market", "amount": "0.001"},
            headers=csrf_headers(page, server),
        )
        assert taken.status == 201, taken.text()
        [fill] = page.request.get(
            f"{server.url}/api/v1/exchange/paper/fills?client_order_id="
            f"{taken.json()['client_order_id']}"
        ).json()["results"]
        page.wait_for_selector(f"#fills-table tr[data-fill-id='{fill['fill_id']}']")

        # Cancel the ticket's order from its row.
        page.click(f"#orders-table tr[data-client-order-id='{mine}'] button")
        page.wait_for_selector(
            f"#orders-table tr[data-client-order-id='{mine}'][data-status=canceled]"
        )
        assert page.locator(f"tr[data-client-order-id='{mine}'] button").is_hidden()
        assert page.locator(f"tr[data-client-order-id='{other}'] button").is_visible()
        state = page.request.get(f"{server.url}/api/v1/exchange/paper/order/{mine}").json()
        assert state["status"] == "canceled"

        # A fresh page reads both from the order list, newest first.
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector(
            f"#orders-table tr[data-client-order-id='{mine}'][data-status=canceled]"
        )
        listed = page.eval_on_selector_all(
            "#orders-table tbody tr", "rows => rows.map((row) => row.dataset.clientOrderId)"
        )
        assert listed[1:] == [other, mine]  # the market order is the newest
        assert page.locator("#orders-note").is_hidden()
        # ... and the fills from the fill list.
        page.wait_for_selector(f"#fills-table tr[data-fill-id='{fill['fill_id']}']")

        # Back to the finished run (the queued one was selected when it started).
        page.click(f"#backtests-table tr[data-run-id='{run['id']}']")
        page.wait_for_selector(
            f"#backtest-detail[data-run-id='{run['id']}'] #backtest-equity canvas"
        )
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.locator("#panel-backtests").scroll_into_view_if_needed()
        page.screenshot(
            path=str(SCREENSHOT.with_name("dashboard-panels.png")),
            full_page=True,
            animations="disabled",
        )

        # Narrow screens: one column, nothing wider than the window.
        page.set_viewport_size({"width": 390, "height": 900})
        page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.wait_for_function(
            f"() => {{ const p = ({CANVAS_PIXELS_JS})('#backtest-equity canvas');"
            " return p && p.upper > 200; }"
        )
        page.screenshot(
            path=str(SCREENSHOT.with_name("dashboard-narrow.png")),
            full_page=True,
            animations="disabled",
        )


@pytest.mark.django_db(transaction=True)
def test_the_new_panels_helpers_behave_in_the_browser(
    sync_playwright: Any, dashboard_server: LiveServer
) -> None:
    """Metric and curve parsing, the run request, order merging, rate-limit bars, a venue card
    with and without a clock offset, and a fill frame's row, in the browser's own engine."""
    server = dashboard_server
    with browser_page(sync_playwright, server) as page:
        page.goto(f"{server.url}/dashboard/login/")
        result = page.evaluate(
            """async () => {
                const fmt = await import("/static/dashboard/js/format.js");
                const bt = await import("/static/dashboard/js/backtest.js");
                const ex = await import("/static/dashboard/js/exchange.js");
                const venues = await import("/static/dashboard/js/panels/venues.js");
                const orders = await import("/static/dashboard/js/panels/orders.js");
                const rows = bt.metricRows({
                    total_return: 0.1234, sharpe: "inf", max_drawdown: -0.2, profit_factor: null,
                    unknown_metric: 3,
                });
                const open = {client_order_id: "a", status: "open", filled: "0", amount: "1",
                              updated_at: "2024-01-01T00:00:02Z",
                              created_at: "2024-01-01T00:00:00Z"};
                const canceled = ex.mergeOrder(open, {client_order_id: "a", status: "canceled",
                                                      updated_at: "2024-01-01T00:00:03Z"});
                // Redelivered late: an open state after the cancel, with a field not known yet.
                const late = ex.mergeOrder(canceled, {client_order_id: "a", status: "open",
                                                      updated_at: "2024-01-01T00:00:01Z",
                                                      venue_order_id: "v1"});
                const older = ex.mergeOrder(
                    {client_order_id: "b", status: "partially_filled", filled: "0.5",
                     updated_at: "2024-01-01T00:00:05Z"},
                    {client_order_id: "b", status: "open", filled: "0",
                     updated_at: "2024-01-01T00:00:04Z"});
                const card = venues.venueCard("binance");
                const degraded = {
                    venue: "binance", enabled: true, state: "degraded", breaker: "half_open",
                    last_error: "NetworkError", last_error_at: new Date().toISOString(),
                    latency_ewma_ms: 123.4, websocket: "down", active_host: "api2.binance.com",
                    rate_limits: [{bucket: "request_weight", scope: "venue", unit: "weight",
                                   limit: 6000, period_seconds: 60, in_use: 5700}],
                    clock_offset_ms: 1500,
                };
                card.update(degraded);
                const first = {
                    state: card.card.dataset.state,
                    offset: card.card.querySelector("[data-fact=clock-offset] dd")?.textContent,
                    offsetClass: card.card.querySelector("[data-fact=clock-offset] dd")?.className,
                    error: card.card.querySelector("[data-role=error]").textContent,
                    level: card.card.querySelector(".limit").dataset.level,
                    now: card.card.querySelector(".limit .progress").getAttribute("aria-valuenow"),
                    period: card.card.querySelector(".limit-head .num").textContent,
                };
                const { clock_offset_ms, ...withoutOffset } = degraded;
                card.update({...withoutOffset, state: "up", breaker: "closed", last_error: ""});
                const frame = ex.parseExchangeFrame({type: "fill", fill: {
                    fill_id: "f1", account_id: "x", venue: "paper", symbol: "BTC/USDT",
                    side: "buy", price: "20000.000000000000000000", amount: "0.0100",
                    fee: "0.2000", fee_currency: "USDT", liquidity: "taker",
                    filled_at: "2024-01-01T00:00:00Z"}});
                const row = orders.fillRow(frame.fill);
                return {
                    decimals: ["0.010000000000000000", "10000", "-0.000", "12.50", "abc"]
                        .map(fmt.formatDecimal),
                    percent: [fmt.formatPercent(0.1234, {signed: true}), fmt.formatPercent(-0.05)],
                    rows: rows.map((r) => [r.key, r.text, r.tone]),
                    curve: bt.curvePoints([[1, 100], [2, null], [3, "inf"], [4, 101], "x"]),
                    request: bt.runRequest({
                        strategy: "s",
                        declarations: {fast: {type: "IntParam"}, k: {type: "FloatParam"},
                                       d: {type: "ChoiceParam"}, slow: {type: "IntParam"},
                                       bad: {type: "IntParam"}},
                        values: {fast: "12", k: "1.5", d: "both", slow: "", bad: "ten"},
                        series: {venue: "binance", symbol: "BTC/USDT", timeframe: "1m"},
                        start: "2024-01-01", end: "", initialCash: "5000", allowGaps: true,
                    }),
                    canceled: canceled.status,
                    late: [late.status, late.venue_order_id, late.updated_at],
                    older: [older.status, older.filled],
                    shares: [ex.limitShare({limit: 100, in_use: 50}),
                             ex.limitShare({limit: 0, in_use: 5}),
                             ex.limitShare({limit: 10, in_use: 20})],
                    levels: [0.5, 0.75, 0.95].map(ex.limitLevel),
                    orderList: ex.normalizeOrderList(
                        {results: [{client_order_id: "a"}, {x: 1}]}).length,
                    first,
                    second: {
                        state: card.card.dataset.state,
                        offsetRows: card.card.querySelectorAll("[data-fact=clock-offset]").length,
                        errorHidden: card.card.querySelector("[data-role=error]").hidden,
                    },
                    fill: [row.dataset.fillId, [...row.cells].map((cell) => cell.textContent)],
                    other: ex.parseExchangeFrame({type: "ticker"}).kind,
                };
            }"""
        )
    assert result["decimals"] == ["0.01", "10000", "0", "12.5", "abc"]
    assert result["percent"] == ["+12.34%", "-5.00%"]
    # Known metrics in display order; unknown keys left out; infinity and null readable.
    assert result["rows"] == [
        ["total_return", "+12.34%", "up"],
        ["sharpe", "∞", "up"],
        ["max_drawdown", "-20.00%", "down"],
        ["profit_factor", "\u2013", ""],  # an en dash: no value
    ]
    assert result["curve"] == [{"t": 1, "v": 100}, {"t": 4, "v": 101}]
    assert result["request"] == {
        "strategy": "s",
        "params": {"fast": 12, "k": 1.5, "d": "both", "bad": "ten"},
        "series": {
            "venue": "binance",
            "symbol": "BTC/USDT",
            "timeframe": "1m",
            "market_type": "spot",
            "price_type": "trades",
        },
        "allow_gaps": True,
        "start": "2024-01-01",
        "config": {"initial_cash": 5000},
    }
    # A final state is never reopened; a late frame only fills in what was missing.
    assert result["canceled"] == "canceled"
    assert result["late"] == ["canceled", "v1", "2024-01-01T00:00:03Z"]
    assert result["older"] == ["partially_filled", "0.5"]
    assert result["shares"] == [0.5, 0, 1]
    assert result["levels"] == ["ok", "busy", "full"]
    assert result["orderList"] == 1
    first = result["first"]
    assert first["state"] == "degraded"
    assert first["offset"] == "+1,500 ms"
    assert first["offsetClass"] == "warn"
    assert "NetworkError" in first["error"]
    assert (first["level"], first["now"]) == ("full", "95")
    assert first["period"] == "5,700 / 6,000 per 1 min"
    # Without the field (a server that does not measure it), no clock row at all.
    assert result["second"] == {"state": "up", "offsetRows": 0, "errorHidden": True}
    fill_id, cells = result["fill"]
    assert fill_id == "f1"
    assert cells[0].startswith("buy BTC/USDT taker")
    assert cells[1:] == ["20000", "0.01", "0.2 USDT"]
    assert result["other"] == "other"


# Installed before the page's scripts run: every WebSocket the page opens logs the JSON frames
# it sends and receives (window.__wsLog), so a test can see what crossed the wire; the native
# class stays reachable for a control socket of the test's own (not logged).
WS_RECORDER_JS = """(() => {
    const Native = window.WebSocket;
    window.__nativeWebSocket = Native;
    window.__wsLog = [];
    window.__sockets = [];
    window.WebSocket = class extends Native {
        constructor(url, protocols) {
            super(url, protocols);
            window.__sockets.push(this);
            this.addEventListener("message", (event) => {
                try {
                    const frame = JSON.parse(event.data);
                    window.__wsLog.push({ url: this.url, dir: "in", frame });
                } catch { /* not JSON */ }
            });
        }
        send(data) {
            try {
                const frame = JSON.parse(data);
                window.__wsLog.push({ url: this.url, dir: "out", frame });
                if (frame.action === "subscribe") this.subscribes = true;
            } catch { /* not JSON */ }
            return super.send(data);
        }
    };
})();"""

# Drawn pixels of a canvas by half: the "up" green and the "down" red on each side.
DEPTH_PIXELS_JS = """(selector) => {
    const canvas = document.querySelector(selector);
    if (!canvas || !canvas.width || !canvas.height) return null;
    const { data, width, height } = canvas.getContext("2d")
        .getImageData(0, 0, canvas.width, canvas.height);
    const counts = { greenLeft: 0, greenRight: 0, redLeft: 0, redRight: 0 };
    for (let y = 0; y < height; y += 2) {
        for (let x = 0; x < width; x += 2) {
            const i = (y * width + x) * 4;
            if (data[i + 3] === 0) continue;
            const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
            const side = x < width / 2 ? "Left" : "Right";
            if (g > r + 40 && g > b + 20) counts[`green${side}`] += 1;
            else if (r > g + 40 && r > b + 40) counts[`red${side}`] += 1;
        }
    }
    return counts;
}"""

# Frames of the market channels (not the user's own order and fill frames, which every stream
# of the user gets) received for `symbol` after log entry `mark`.
MARKET_FRAMES_JS = """([mark, symbol]) => window.__wsLog.slice(mark).filter((entry) => {
    const f = entry.frame;
    const payload = f.type === "trade" ? f.trade : f.type === "orderbook" ? f.book
        : f.type === "ticker" ? f.ticker : null;
    return entry.dir === "in" && payload && payload.symbol === symbol;
}).length"""


def _plain(value: Decimal | str) -> str:
    """A decimal as the dashboard shows it: exact, without trailing zeros (decimal.js)."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


def _outside_the_event_loop(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run Django code while a Playwright page is open (its sync API runs an event loop in
    this thread, where Django refuses database calls): in a thread of its own."""

    def run() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _market_order(page: Any, server: LiveServer, symbol: str) -> dict[str, Any]:
    """A market buy of 0.001 through the API (crossing the paper book); its one fill."""
    placed = page.request.post(
        f"{server.url}/api/v1/exchange/paper/order",
        data={"symbol": symbol, "side": "buy", "type": "market", "amount": "0.001"},
        headers=csrf_headers(page, server),
    )
    assert placed.status == 201, placed.text()
    assert placed.json()["status"] == "filled", placed.text()
    [fill] = page.request.get(
        f"{server.url}/api/v1/exchange/paper/fills?client_order_id="
        f"{placed.json()['client_order_id']}"
    ).json()["results"]
    return dict(fill)


@pytest.mark.django_db(transaction=True)
def test_the_depth_panel_shows_the_paper_book_and_its_tape_live(
    sync_playwright: Any, dashboard_server: LiveServer, shared_data: Path
) -> None:
    """The seeded paper book of BTC-USDT (from a real stored day) in the ladder, the summary
    and the depth chart; a crossing paper order's print over the stream; a dropped socket
    subscribing again; another symbol unsubscribing the old one."""
    server = dashboard_server
    import_real_day(shared_data, "BTCUSDT-1m-2022-09-05.csv", "BTC/USDT")
    User.objects.create_superuser(username="ada", email="", password=PASSWORD)

    # The unknown market is asked for on purpose: the browser logs the 404 as a console error.
    refused = (
        "/api/v1/exchange/paper/orderbook/DOGE-XYZ",
        "/api/v1/exchange/paper/trades/DOGE-XYZ",
    )
    with browser_page(sync_playwright, server, refused) as page:
        page.add_init_script(WS_RECORDER_JS)
        sign_in(page, server, "ada")
        panel = "#panel-depth"
        page.wait_for_selector(f"{panel}[data-symbol='BTC-USDT'][data-book-state=ready]")
        page.wait_for_selector(f"{panel}[data-ws-state=open][data-subscribed='BTC-USDT']")
        # The symbol suggestions are the venue's markets (LTC-BTC is stored nowhere here).
        page.wait_for_function(
            "() => [...document.querySelectorAll('#depth-symbols option')]"
            ".some((option) => option.value === 'LTC-BTC')"
        )
        assert page.input_value("#depth-venue") == "paper"

        # --- the ladder is the REST book, level for level, with exact running totals --------
        top = page.request.get(f"{server.url}/api/v1/exchange/paper/orderbook/BTC-USDT?depth=10")
        assert top.status == 200, top.text()
        book = top.json()
        assert len(book["bids"]) == len(book["asks"]) == 10
        page.wait_for_selector("#depth-ladder tr[data-side=bid][data-level='9']")
        shown = page.eval_on_selector_all(
            "#depth-ladder tbody tr[data-side]",
            "rows => rows.map((row) => [row.dataset.side, Number(row.dataset.level),"
            " [...row.cells].map((cell) => cell.textContent)])",
        )
        expected: list[list[Any]] = []
        for side in ("ask", "bid"):
            total = Decimal(0)
            rows = []
            for index, level in enumerate(book[f"{side}s"]):
                total += Decimal(level["amount"])
                rows.append(
                    [side, index, [_plain(level["price"]), _plain(level["amount"]), _plain(total)]]
                )
            # Asks above the spread, the best one nearest to it; bids below, best first.
            expected += list(reversed(rows)) if side == "ask" else rows
        assert shown == expected

        # --- best bid and ask, the spread exactly and in basis points ------------------------
        bid, ask = Decimal(book["bids"][0]["price"]), Decimal(book["asks"][0]["price"])
        spread = ask - bid
        assert spread > 0
        bps = (spread / ((bid + ask) / 2) * 10_000).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert page.inner_text("#depth-bid") == _plain(bid)
        assert page.inner_text("#depth-ask") == _plain(ask)
        assert page.inner_text("#depth-spread") == _plain(spread)
        assert page.inner_text("#depth-spread-bps") == f"{bps:.2f}"
        assert page.inner_text("#depth-mid") == _plain((bid + ask) / 2)

        # --- the depth chart: bids drawn on the left, asks on the right ---------------------
        page.locator("#depth-chart").scroll_into_view_if_needed()
        page.wait_for_function(
            f"() => {{ const p = ({DEPTH_PIXELS_JS})('#depth-chart canvas');"
            " return p && p.greenLeft > 300 && p.redRight > 300; }"
        )
        pixels = page.evaluate(f"({DEPTH_PIXELS_JS})('#depth-chart canvas')")
        assert pixels["greenRight"] * 10 < pixels["greenLeft"], pixels
        assert pixels["redLeft"] * 10 < pixels["redRight"], pixels

        # The crosshair on the bid side reads the exact cumulative size of the REST book.
        full = page.request.get(
            f"{server.url}/api/v1/exchange/paper/orderbook/BTC-USDT?depth=50"
        ).json()
        box = page.locator("#depth-chart canvas").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
        page.wait_for_selector("#depth-readout[data-side=bid][data-total]")
        level_price = page.get_attribute("#depth-readout", "data-level-price")
        prices = [level["price"] for level in full["bids"]]
        assert level_price in prices
        depth = prices.index(level_price) + 1
        total = sum((Decimal(level["amount"]) for level in full["bids"][:depth]), Decimal(0))
        assert depth > 1  # a fifth of the width from the left edge is deep in the book
        assert Decimal(page.get_attribute("#depth-readout", "data-total") or "") == total
        assert f"{_plain(total)} BTC" in page.inner_text("#depth-readout")
        page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.5)
        page.wait_for_selector("#depth-readout[data-side=ask][data-total]")

        # --- a paper order crossing the book prints on the tape, over the stream ------------
        opened = page.request.post(
            f"{server.url}/api/v1/exchange/paper/accounts",
            data={
                "name": "Paper",
                "venue": "paper",
                "balances": {"USDT": "10000"},
                "default": True,
            },
            headers=csrf_headers(page, server),
        )
        assert opened.status == 201, opened.text()
        fill = _market_order(page, server, "BTC-USDT")
        row = f"#depth-tape tr[data-trade-id='{fill['fill_id']}']"
        page.wait_for_selector(f"{row}[data-side=buy].flash")  # the taker bought
        cells = page.eval_on_selector_all(f"{row} td", "cells => cells.map((c) => c.textContent)")
        assert cells[:2] == [_plain(fill["price"]), "0.001"]
        assert page.get_attribute(f"{row} td", "class") == "num up"
        assert page.inner_text("#depth-last") == _plain(fill["price"])
        heard = page.evaluate(
            "(id) => window.__wsLog.some((e) => e.dir === 'in' && e.frame.type === 'trade'"
            " && e.frame.trade.trade_id === id)",
            fill["fill_id"],
        )
        assert heard  # pushed by the stream, not read back over REST
        # The fill took from the best ask; the paper venue publishes no book for that, so the
        # panel reads the book again after a paper print.
        after = page.request.get(
            f"{server.url}/api/v1/exchange/paper/orderbook/BTC-USDT?depth=1"
        ).json()
        assert Decimal(after["asks"][0]["amount"]) < Decimal(book["asks"][0]["amount"])
        page.wait_for_selector(
            "#depth-ladder tr[data-side=ask][data-level='0'] td:nth-child(2)"
            f" >> text='{_plain(after['asks'][0]['amount'])}'"
        )

        # --- a reload starts the tape from REST: the print is there, no frame brought it ------
        with page.expect_response(lambda r: "/exchange/paper/trades/BTC-USDT?limit=60" in r.url):
            page.reload()
        page.wait_for_selector(f"{panel}[data-book-state=ready][data-tape-state=ready]")
        cells = page.eval_on_selector_all(f"{row} td", "cells => cells.map((c) => c.textContent)")
        assert cells[:2] == [_plain(fill["price"]), "0.001"]
        assert page.get_attribute(row, "data-side") == "buy"
        assert page.inner_text("#depth-last") == _plain(fill["price"])
        assert not page.evaluate("() => window.__wsLog.some((e) => e.frame.type === 'trade')")

        # --- a dropped connection subscribes again, and prints keep coming ------------------
        subscribes_js = (
            "() => window.__wsLog.filter((e) => e.dir === 'out' && e.frame.action === 'subscribe'"
            " && e.frame.symbols.includes('BTC-USDT')).length"
        )
        before = page.evaluate(subscribes_js)
        page.evaluate(
            "() => window.__sockets.filter((s) => s.subscribes && s.readyState === 1)"
            ".forEach((s) => s.close())"
        )
        page.wait_for_function(f"() => ({subscribes_js})() === {before + 1}")
        page.wait_for_selector(f"{panel}[data-ws-state=open][data-subscribed='BTC-USDT']")
        again = _market_order(page, server, "BTC-USDT")
        page.wait_for_selector(f"#depth-tape tr[data-trade-id='{again['fill_id']}']")
        assert page.locator("#depth-tape tbody tr").count() == 2

        # --- another symbol: the old one is unsubscribed, its prints no longer arrive -------
        page.fill("#depth-symbol", "eth-usdt")
        page.press("#depth-symbol", "Enter")
        page.wait_for_selector(f"{panel}[data-symbol='ETH-USDT'][data-book-state=empty]")
        # No ETH/USDT candles are stored: the paper book has nothing to be seeded from.
        assert "The paper book of ETH-USDT is empty." in page.inner_text("#depth-book-message")
        assert page.locator("#depth-tape tbody tr").count() == 0
        page.wait_for_function(
            "() => window.__wsLog.some((e) => e.dir === 'in' && e.frame.type === 'unsubscribed'"
            " && e.frame.symbols.includes('BTC/USDT'))"
        )
        sent = page.evaluate(
            "() => window.__wsLog.filter((e) => e.dir === 'out').map((e) => e.frame).slice(-2)"
        )
        assert sent == [
            {"action": "unsubscribe", "symbols": ["BTC-USDT"]},
            {"action": "subscribe", "symbols": ["ETH-USDT"], "channels": ["orderbook", "trades"]},
        ]
        mark = page.evaluate("() => window.__wsLog.length")
        # A socket of the test's own still listens to BTC-USDT: once it hears the next print,
        # the panel's socket would have heard it too, had it still been subscribed.
        stream_url = server.url.replace("http", "ws", 1) + "/api/v1/exchange/paper/stream"
        page.evaluate(
            """(url) => new Promise((resolve, reject) => {
                const socket = new window.__nativeWebSocket(url);
                window.__control = [];
                socket.onopen = () => socket.send(JSON.stringify(
                    { action: "subscribe", symbols: ["BTC-USDT"], channels: ["trades"] }));
                socket.onmessage = (event) => {
                    const frame = JSON.parse(event.data);
                    window.__control.push(frame);
                    if (frame.type === "subscribed") resolve(true);
                };
                socket.onerror = () => reject(new Error("the control socket failed"));
            })""",
            stream_url,
        )
        late = _market_order(page, server, "BTC-USDT")
        page.wait_for_function(
            "(id) => window.__control.some((f) => f.type === 'trade' && f.trade.trade_id === id)",
            arg=late["fill_id"],
        )
        page.wait_for_timeout(400)
        assert page.evaluate(MARKET_FRAMES_JS, [mark, "BTC/USDT"]) == 0
        assert page.locator(f"#depth-tape tr[data-trade-id='{late['fill_id']}']").count() == 0
        assert page.locator("#depth-tape tbody tr").count() == 0

        # ETH/USDT candles get stored; the next paper call (not the panel's) seeds the book,
        # and the panel shows it from the stream frame alone.
        _outside_the_event_loop(
            import_real_day, shared_data, "ETHUSDT-1m-2022-08-14.csv", "ETH/USDT"
        )
        seeded = page.request.get(f"{server.url}/api/v1/exchange/paper/ticker/ETH-USDT")
        assert seeded.status == 200, seeded.text()
        page.wait_for_selector(f"{panel}[data-symbol='ETH-USDT'][data-book-state=ready]")
        assert page.evaluate(MARKET_FRAMES_JS, [mark, "ETH/USDT"]) >= 1
        eth = page.request.get(
            f"{server.url}/api/v1/exchange/paper/orderbook/ETH-USDT?depth=1"
        ).json()
        assert page.inner_text("#depth-bid") == _plain(eth["bids"][0]["price"])
        assert page.inner_text("#depth-ask") == _plain(eth["asks"][0]["price"])

        # A market the paper venue does not simulate: the API's refusal as a toast, the reason
        # in place of the book, and the stream no longer asked for it.
        page.fill("#depth-symbol", "DOGE-XYZ")
        page.press("#depth-symbol", "Enter")
        page.wait_for_selector(".toast-error >> text=unknown_symbol")
        page.wait_for_selector(f"{panel}[data-symbol='DOGE-XYZ'][data-book-state=error]")
        assert "could not be loaded" in page.inner_text("#depth-book-message")
        page.wait_for_function(
            "() => { const out = window.__wsLog.filter((e) => e.dir === 'out');"
            " const last = out[out.length - 1].frame;"
            " return last.action === 'unsubscribe' && last.symbols[0] === 'DOGE-XYZ'; }"
        )

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.fill("#depth-symbol", "BTC-USDT")
        page.press("#depth-symbol", "Enter")
        page.wait_for_selector(f"{panel}[data-symbol='BTC-USDT'][data-book-state=ready]")
        page.click(".toast-error .toast-close")
        box = page.locator("#depth-chart canvas").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
        page.wait_for_selector("#depth-readout[data-side=bid]")
        page.locator(panel).screenshot(
            path=str(SCREENSHOT.with_name("dashboard-depth.png")), animations="disabled"
        )


@pytest.mark.django_db(transaction=True)
def test_the_depth_helpers_behave_in_the_browser(
    sync_playwright: Any, dashboard_server: LiveServer
) -> None:
    """Exact decimal sums and spreads, both book shapes, cumulative depth, the crosshair's
    lookup, stale books, tape frames, and one chart draw for a burst of books, in the
    browser's own engine."""
    server = dashboard_server
    with browser_page(sync_playwright, server) as page:
        page.goto(f"{server.url}/dashboard/login/")
        result = page.evaluate(
            """async () => {
                const dec = await import("/static/dashboard/js/decimal.js");
                const ex = await import("/static/dashboard/js/exchange.js");
                const panel = await import("/static/dashboard/js/panels/depth.js");
                const charts = await import("/static/dashboard/js/charts/depth.js");
                const rest = ex.normalizeBook({
                    venue: "paper", symbol: "BTC/USDT", timestamp: "2024-01-01T00:00:01Z",
                    sequence: null,
                    bids: [{price: "99.90", amount: "0.2"}, {price: "100.00", amount: "0.1"}],
                    asks: [{price: "100.10", amount: "0.3"}, {price: "100.2", amount: "1E-8"}],
                });
                const frame = ex.parseExchangeFrame({type: "orderbook", book: {
                    venue: "paper", symbol: "BTC/USDT", occurred_at: "2024-01-01T00:00:00Z",
                    sequence: null, bids: [["100", "1"]], asks: [["101", "1"]]}});
                const bids = ex.cumulativeDepth(rest.bids);
                const asks = ex.cumulativeDepth(rest.asks);
                const container = document.createElement("div");
                container.style.cssText = "width: 600px; height: 300px; position: relative";
                document.body.append(container);
                const chart = new charts.DepthChart(container);
                const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));
                await nextFrame();
                await nextFrame(); // the first resize observation has drawn by now
                const drawsBefore = chart.draws;
                for (let i = 0; i < 10; i += 1) {
                    chart.setBook(rest, ex.bookSummary(rest));
                }
                await nextFrame();
                await nextFrame();
                const drawn = chart.draws - drawsBefore;
                const pixels = container.querySelector("canvas").getContext("2d")
                    .getImageData(0, 0, 600, 300).data.some((value) => value !== 0);
                const trade = ex.parseExchangeFrame({type: "trade", trade: {
                    venue: "paper", symbol: "ETH/USDT", trade_id: "t1", price: "2000.50",
                    amount: "0.0100", side: "sell", traded_at: "2024-01-01T00:00:00Z"}});
                return {
                    sums: [dec.addDecimal("0.1", "0.2"), dec.addDecimal("1E-8", "2"),
                           dec.subtractDecimal("100.10", "100.00"), dec.addDecimal("x", "1"),
                           dec.midDecimal("100.00", "100.11"), dec.compareDecimal("1.50", "1.5")],
                    bps: [dec.ratioBps("0.1", "100.05"), dec.ratioBps("1", "3"),
                          dec.ratioBps("0.000125", "1", 0), dec.ratioBps("-0.5", "100"),
                          dec.ratioBps("1", "0")],
                    exact: ["19784.90000000", "1E-8", "0E-8", "", "abc"].map(panel.exact),
                    rest: [rest.symbol, rest.bids.map((l) => l.price),
                           rest.asks.map((l) => l.price), rest.time],
                    frame: [frame.kind, frame.book.symbol, frame.book.bids[0], frame.book.time],
                    newer: [ex.isNewerBook(rest, frame.book),
                            ex.isNewerBook({...rest, sequence: 8}, {...frame.book, sequence: 7}),
                            ex.isNewerBook(null, rest),
                            ex.isNewerBook({...rest, sequence: 7}, {...frame.book, sequence: 8})],
                    totals: [bids.map((l) => l.total), asks.map((l) => l.total)],
                    summary: ex.bookSummary(rest),
                    crossed: ex.bookSummary(ex.normalizeBook({bids: [["101", "1"]],
                                                              asks: [["100.5", "1"]]})),
                    oneSided: ex.bookSummary(ex.normalizeBook({bids: [["1", "1"]], asks: []})),
                    at: [
                        ex.depthAt(bids, asks, 100.05, 99.95).level?.total,
                        ex.depthAt(bids, asks, 100.05, 99.0).level?.total,
                        ex.depthAt(bids, asks, 100.05, 100.02).level,
                        ex.depthAt(bids, asks, 100.05, 100.15).level?.total,
                        ex.depthAt(bids, asks, 100.05, 100.15).side,
                    ],
                    trade: [trade.kind, trade.trade],
                    subscribed: ex.parseExchangeFrame({type: "unsubscribed",
                                                       symbols: ["BTC/USDT"]}),
                    bare: ex.parseExchangeFrame({type: "trade"}).kind,
                    drawn,
                    pixels,
                };
            }"""
        )
    # Exact where floats are not: 0.1 + 0.2 is 0.3, an exponent is read, bad input is "".
    assert result["sums"] == ["0.3", "2.00000001", "0.1", "", "100.055", 0]
    # 0.1 / 100.05 = 9.995 bps -> 10.00 (half away from zero); 1/3 -> 3333.33 bps.
    assert result["bps"] == ["10.00", "3333.33", "1", "-50.00", ""]
    assert result["exact"] == ["19784.9", "0.00000001", "0", "\u2013", "abc"]
    # REST levels are objects; sorted best first whatever the order they came in.
    assert result["rest"] == [
        "BTC-USDT",
        ["100.00", "99.90"],
        ["100.10", "100.2"],
        1_704_067_201_000,
    ]
    assert result["frame"] == [
        "orderbook",
        "BTC-USDT",
        {"price": "100", "amount": "1", "p": 100, "a": 1},
        1_704_067_200_000,
    ]
    # Frames replace the book in the order they come, older timestamp or not (a seeded paper
    # book carries its candle's close); only an older venue sequence is dropped.
    assert result["newer"] == [True, False, True, True]
    assert result["totals"] == [["0.1", "0.3"], ["0.3", "0.30000001"]]
    summary = result["summary"]
    assert (summary["spread"], summary["mid"], summary["spreadBps"], summary["crossed"]) == (
        "0.1",
        "100.05",
        "10.00",
        False,
    )
    crossed = result["crossed"]
    assert (crossed["spread"], crossed["crossed"]) == ("-0.5", True)
    assert result["oneSided"]["spread"] is None
    # Bids at or above a price left of the mid; nothing inside the spread; asks to the right.
    assert result["at"] == ["0.1", "0.3", None, "0.3", "ask"]
    kind, trade = result["trade"]
    assert kind == "trade"
    assert trade == {
        "id": "t1",
        "venue": "paper",
        "symbol": "ETH-USDT",
        "price": "2000.50",
        "amount": "0.0100",
        "side": "sell",
        "time": 1_704_067_200_000,
    }
    assert result["subscribed"] == {"kind": "unsubscribed", "symbols": ["BTC-USDT"]}
    assert result["bare"] == "other"
    # Ten books in one frame: one draw, and it drew something.
    assert result["drawn"] == 1
    assert result["pixels"] is True
