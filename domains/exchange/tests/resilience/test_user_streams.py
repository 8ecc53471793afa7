"""Live accounts' private streams against local fake venue endpoints (``fake_user_stream``)
that check every signature as the venue would: authentication accepted and refused, order
updates and fills handed to the ledger, reconnects (handshake again, then a reconcile),
malformed frames, HTX's ping/pong and gzip, Binance's stream termination, keepalives, the
supervisor following the database, the command's errors, and end to end one fill through the
real ledger, published once with the account's owner.

Backoffs go through an injected sleep that returns at once; keepalive tests wait 20 ms.
"""

import asyncio
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.core.management import CommandError, call_command

from domains.exchange.adapters.ccxt_gateway import VenueCredentials
from domains.exchange.adapters.ws_client import StreamSettings
from domains.exchange.api import (
    AuthFailed,
    Fill,
    MarketInfo,
    OrderAck,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    VenueUnavailable,
)
from domains.exchange.events import OrderFilled, VenueStatusChanged
from domains.exchange.models import LiveAccount, LiveFill, LiveOrder
from domains.exchange.services.accounts import AccountRef, account_get, live_account_create
from domains.exchange.services.credentials import CredentialStore
from domains.exchange.services.gateway import ExchangeGateway
from domains.exchange.services.orders.reconciler import ReconcileReport
from domains.exchange.services.resilience.config import defaults_of
from domains.exchange.services.resilience.runtime import ResilienceRuntime
from domains.exchange.services.user_streams import (
    AccountStream,
    AccountStreamSupervisor,
    LedgerSink,
    MarketDirectory,
    ledger_sink,
    reconcile_after_connect,
)
from domains.exchange.tests.factories import btc_usdt
from domains.exchange.tests.fake_binance import BinanceSim
from domains.exchange.tests.fake_user_stream import (
    GATE_ORDER,
    GATE_TRADE,
    HTX_CLEARING,
    HTX_CREATION,
    FakePrivateVenue,
    Step,
    binance_event,
    binance_trade,
    execution_report,
    gate_update,
    htx_push,
)
from domains.exchange.tests.fake_venue import FakeVenue
from domains.exchange.tests.resilience.conftest import SimClock, build_binance_rig
from dsta.kernel.bus import Event

API_KEY = "fake-api-key"
SECRET = "fake-secret"
FAST = StreamSettings(idle_timeout=5, open_timeout=2, base_delay=0.01, max_delay=0.05)
VENUE_IDS = {"binance": "BTCUSDT", "gateio": "BTC_USDT", "htx": "btcusdt"}


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.002)


@dataclass
class Sink:
    """Records what a stream hands the ledger."""

    acks: list[OrderAck] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def ledger(self) -> LedgerSink:
        return LedgerSink(record_ack=self._ack, record_fill=self._fill)

    def _ack(self, ack: OrderAck) -> bool:
        self.acks.append(ack)
        return True

    def _fill(self, fill: Fill) -> bool:
        self.fills.append(fill)
        return True


@dataclass
class Rig:
    """One account's stream against a fake venue, with what it did."""

    venue: str
    account: AccountRef
    sink: Sink
    reconciled: list[UUID]
    events: list[Event]
    credentials: CredentialStore
    revealed: list[str]
    market_loads: list[int]

    def stream(self, url: str, **options: Any) -> AccountStream:
        runtime = ResilienceRuntime(
            settings_for=defaults_of, report=self.events.append, rng=random.Random(1)
        )
        arguments: dict[str, Any] = {
            "markets": MarketDirectory(self._markets, refresh_after=0),
            "runtime": runtime.venue(self.venue),
            "credentials": self.credentials,
            "sink": self.sink.ledger(),
            "reconcile": self.reconciled.append,
            "settings": FAST,
            "sleep": no_wait,
            "keepalive_interval": None,
        }
        return AccountStream(self.account, url=url, **{**arguments, **options})

    def _markets(self) -> list[MarketInfo]:
        self.market_loads.append(1)
        return [btc_usdt(self.venue, venue_symbol=VENUE_IDS[self.venue])]

    def statuses(self) -> list[tuple[str, str]]:
        return [(e.status, e.reason) for e in self.events if isinstance(e, VenueStatusChanged)]


def rig(venue: str, *, secret: str = SECRET, account: AccountRef | None = None) -> Rig:
    revealed: list[str] = []

    def reveal(owner_id: int, key: str) -> VenueCredentials:
        revealed.append(key)
        return VenueCredentials(api_key=API_KEY, secret=secret)

    return Rig(
        venue=venue,
        account=account or live_ref(venue),
        sink=Sink(),
        reconciled=[],
        events=[],
        credentials=CredentialStore(reveal=reveal),
        revealed=revealed,
        market_loads=[],
    )


def live_ref(venue: str) -> AccountRef:
    return AccountRef(
        id=uuid4(),
        kind="live",
        venue=venue,
        name="main",
        owner_id=7,
        is_default=True,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        secret_key=f"{venue}-key",
    )


def fake(venue: str, scripts: list[list[Step]], **kwargs: Any) -> FakePrivateVenue:
    return FakePrivateVenue(venue, scripts, api_key=API_KEY, secret=SECRET, **kwargs)


async def stream_until(
    stream: AccountStream, condition: Callable[[], bool], timeout: float = 5.0
) -> str:
    """Run ``stream`` until ``condition`` holds, stop it; its state when the condition held."""
    task = asyncio.create_task(stream.run())
    try:
        await until(lambda: condition() or task.done(), timeout)
        return stream.state
    finally:
        stream.stop()
        await task


# An order and a fill on each venue, as the venues' docs show them.
ORDER_FRAMES: dict[str, Any] = {
    "binance": binance_event(execution_report()),
    "gateio": gate_update("spot.orders", {**GATE_ORDER, "text": "t-dsta0001"}),
    "htx": htx_push("orders#btcusdt", {**HTX_CREATION, "clientOrderId": "dsta0001"}),
}
FILL_FRAMES: dict[str, Any] = {
    "binance": binance_event(binance_trade(77, "0.00400000", "59999.00", "0.00400000", "240")),
    "gateio": gate_update("spot.usertrades", {**GATE_TRADE, "text": "t-dsta0001"}),
    "htx": htx_push("trade.clearing#btcusdt#0", {**HTX_CLEARING, "clientOrderId": "dsta0001"}),
}
HANDSHAKE_FRAMES = {"binance": 1, "gateio": 2, "htx": 3}


def handshake_frames(received: list[Any]) -> list[Any]:
    return [
        frame
        for frame in received
        if frame.get("method") == "userDataStream.subscribe.signature"
        or frame.get("event") == "subscribe"
        or frame.get("action") in ("req", "sub")
    ]


# --- handshake, updates, refusals -------------------------------------------------------------


@pytest.mark.parametrize("venue", ["binance", "gateio", "htx"])
def test_an_accepted_stream_hands_order_states_and_fills_to_the_ledger(venue: str):
    account = rig(venue)
    script: list[Step] = [
        ("handshake",),
        ("send", ORDER_FRAMES[venue]),
        ("send", FILL_FRAMES[venue]),
    ]

    async def scenario() -> FakePrivateVenue:
        async with fake(venue, [script]) as server:
            stream = account.stream(server.url)
            assert await stream_until(stream, lambda: bool(account.sink.fills)) == "streaming"
            assert stream.state == "stopped"
        return server

    server = asyncio.run(scenario())
    [received] = server.received
    assert len(handshake_frames(received)) == HANDSHAKE_FRAMES[venue]
    assert server.connections[0].refused == []  # the fake venue verified every signature
    ack = account.sink.acks[0]  # (Binance's trade report is an order state too)
    [fill] = account.sink.fills
    assert len(account.sink.acks) == (2 if venue == "binance" else 1)
    assert (ack.account_id, ack.venue, ack.symbol) == (account.account.id, venue, "BTC/USDT")
    assert ack.client_order_id == "dsta0001"
    assert ack.status is OrderStatus.OPEN
    assert (fill.account_id, fill.symbol, fill.client_order_id) == (
        account.account.id,
        "BTC/USDT",
        "dsta0001",
    )
    assert fill.fee > 0
    assert fill.fee_currency
    assert account.reconciled == [account.account.id]  # once subscribed
    assert account.revealed == [f"{venue}-key"]
    assert account.statuses()[0][0] == "up"


@pytest.mark.parametrize("venue", ["binance", "gateio", "htx"])
def test_credentials_the_venue_refuses_stop_the_stream_with_auth_failed(venue: str):
    account = rig(venue, secret="not-the-secret")

    async def scenario() -> tuple[FakePrivateVenue, AccountStream]:
        async with fake(venue, [[("handshake",), ("silence",)]]) as server:
            stream = account.stream(server.url)
            with pytest.raises(AuthFailed, match="refused the credentials") as refused:
                await asyncio.wait_for(stream.run(), 5)
            assert refused.value.details["account_id"] == str(account.account.id)
            return server, stream

    server, stream = asyncio.run(scenario())
    assert len(server.connections) == 1  # no reconnect loop against a refusal
    assert server.connections[0].refused  # the fake venue refused the signature
    assert stream.state.startswith("auth_failed:")
    assert (account.sink.acks, account.sink.fills, account.reconciled) == ([], [], [])
    assert account.statuses()[-1][0] == "down"
    assert "auth_failed" in account.statuses()[-1][1]
    # The cached credentials were dropped (as the gateway does): the next use reveals again.
    account.credentials.get(owner_id=7, key=f"{venue}-key")
    assert account.revealed == [f"{venue}-key", f"{venue}-key"]


def test_a_missing_secret_stops_the_stream_before_anything_is_signed():
    account = rig("binance")

    def no_secret(owner_id: int, key: str) -> VenueCredentials:
        raise AuthFailed(f"credentials {key!r} cannot be read", details={"reason": "not_found"})

    account.credentials = CredentialStore(reveal=no_secret)

    async def scenario() -> FakePrivateVenue:
        async with fake("binance", [[("silence",)]]) as server:
            with pytest.raises(AuthFailed, match="cannot be read"):
                await asyncio.wait_for(account.stream(server.url).run(), 5)
        return server

    server = asyncio.run(scenario())
    assert server.received == [[]]  # nothing sent to the venue


def test_a_refusal_that_is_not_about_the_credentials_reconnects():
    # Binance -1021: our clock was 10 minutes behind; the next connection signs again, on time.
    account = rig("binance")
    readings = iter([1_000.0])

    def clock() -> float:
        skewed = next(readings, None)
        return skewed if skewed is not None else datetime.now(UTC).timestamp()

    async def scenario() -> tuple[FakePrivateVenue, AccountStream]:
        scripts: list[list[Step]] = [
            [("handshake",), ("silence",)],
            [("handshake",), ("send", ORDER_FRAMES["binance"])],
        ]
        async with fake("binance", scripts) as server:
            stream = account.stream(server.url, clock=clock)
            await stream_until(stream, lambda: bool(account.sink.acks))
        return server, stream

    server, stream = asyncio.run(scenario())
    assert [r.code for r in stream.stats.refusals] == ["-1021"]
    assert len(server.connections) == 2
    assert server.connections[0].refused[0]["error"]["code"] == -1021
    assert server.connections[1].refused == []
    assert [status for status, _ in account.statuses()] == ["up", "down", "up"]
    assert "refused: -1021" in account.statuses()[1][1]
    assert account.reconciled == [account.account.id]  # only the accepted subscription


def _venue_runtime(account: Rig) -> Any:
    runtime = ResilienceRuntime(
        settings_for=defaults_of, report=account.events.append, rng=random.Random(1)
    )
    return runtime.venue(account.venue)


@pytest.mark.parametrize("venue", ["binance", "gateio", "htx"])
def test_the_handshake_is_signed_on_the_venues_clock(venue: str):
    # Our clock is 10 minutes ahead of the venue's, and the REST clients measured it: the
    # private stream signs with the same correction (else Binance refuses it with -1021 on
    # every connection, HTX and Gate.io as failed authentication).
    account = rig(venue)
    venue_runtime = _venue_runtime(account)
    venue_runtime.clock_offset.measure(lambda: 600_000)

    async def scenario() -> tuple[FakePrivateVenue, AccountStream]:
        scripts: list[list[Step]] = [[("handshake",), ("send", ORDER_FRAMES[venue])]]
        behind = fake(venue, scripts, clock=lambda: datetime.now(UTC).timestamp() - 600)
        async with behind as server:
            stream = account.stream(server.url, runtime=venue_runtime)
            await stream_until(
                stream, lambda: bool(account.sink.acks) or bool(stream.stats.refusals)
            )
        return server, stream

    server, stream = asyncio.run(scenario())
    assert stream.stats.refusals == []
    assert len(server.connections) == 1
    assert len(account.sink.acks) == 1


def test_a_timestamp_refusal_measures_the_venues_clock_before_signing_again():
    account = rig("binance")
    venue_runtime = _venue_runtime(account)
    measured: list[int] = []

    def resync() -> None:
        measured.append(1)
        venue_runtime.clock_offset.measure(lambda: 600_000)

    async def scenario() -> tuple[FakePrivateVenue, AccountStream]:
        scripts: list[list[Step]] = [
            [("handshake",), ("silence",)],
            [("handshake",), ("send", ORDER_FRAMES["binance"])],
        ]
        behind = fake("binance", scripts, clock=lambda: datetime.now(UTC).timestamp() - 600)
        async with behind as server:
            stream = account.stream(server.url, runtime=venue_runtime, resync_clock=resync)
            await stream_until(stream, lambda: bool(account.sink.acks), timeout=3)
        return server, stream

    server, stream = asyncio.run(scenario())
    assert [r.code for r in stream.stats.refusals] == ["-1021"]
    assert measured == [1]
    assert len(server.connections) == 2
    assert server.connections[1].refused == []
    assert len(account.sink.acks) == 1


# --- reconnects -------------------------------------------------------------------------------


@pytest.mark.parametrize("venue", ["binance", "gateio", "htx"])
def test_a_dropped_connection_is_reopened_resubscribed_and_reconciled(venue: str):
    account = rig(venue)
    scripts: list[list[Step]] = [
        [("handshake",), ("send", ORDER_FRAMES[venue]), ("drop",)],
        [("handshake",), ("send", FILL_FRAMES[venue])],
    ]

    async def scenario() -> FakePrivateVenue:
        async with fake(venue, scripts) as server:
            stream = account.stream(server.url)
            await stream_until(
                stream, lambda: bool(account.sink.fills) and len(account.reconciled) == 2
            )
        return server

    server = asyncio.run(scenario())
    assert len(server.connections) == 2
    for received in server.received:  # the whole handshake, signed again, on each connection
        assert len(handshake_frames(received)) == HANDSHAKE_FRAMES[venue]
    assert len(account.sink.fills) == 1
    assert len(account.sink.acks) == (2 if venue == "binance" else 1)
    # Events missed while disconnected are recovered: a reconcile after each subscription.
    assert account.reconciled == [account.account.id] * 2
    assert [status for status, _ in account.statuses()] == ["up", "down", "up"]


def test_binance_stream_termination_is_renewed_on_the_same_connection():
    account = rig("binance")
    script: list[Step] = [
        ("handshake",),
        ("send", binance_event({"e": "eventStreamTerminated", "E": 1728973001334})),
        ("handshake",),  # the client subscribes again, signed anew
        ("send", FILL_FRAMES["binance"]),
    ]

    async def scenario() -> tuple[FakePrivateVenue, AccountStream]:
        async with fake("binance", [script]) as server:
            stream = account.stream(server.url)
            await stream_until(
                stream, lambda: bool(account.sink.fills) and len(account.reconciled) == 2
            )
        return server, stream

    server, stream = asyncio.run(scenario())
    assert len(server.connections) == 1
    subscriptions = handshake_frames(server.received[0])
    assert len(subscriptions) == 2
    assert subscriptions[0]["id"] != subscriptions[1]["id"]
    assert server.connections[0].subscription_ids == [0, 1]
    assert stream.stats.resubscribes == 1
    assert account.reconciled == [account.account.id] * 2  # the gap between the two is covered
    assert [f.fill_id for f in account.sink.fills] == ["77"]


# --- frames ----------------------------------------------------------------------------------


def test_malformed_frames_and_unknown_symbols_are_skipped_and_the_stream_goes_on():
    account = rig("binance")
    script: list[Step] = [
        ("handshake",),
        ("raw", '{"e": "executionReport", "s": '),
        ("send", binance_event(execution_report(q="lots"))),
        ("send", binance_event(execution_report(s="DOGEUSDT"))),
        ("send", [1, 2, 3]),
        ("send", FILL_FRAMES["binance"]),
    ]

    async def scenario() -> AccountStream:
        async with fake("binance", [script]) as server:
            stream = account.stream(server.url)
            await stream_until(stream, lambda: bool(account.sink.fills))
        return stream

    stream = asyncio.run(scenario())
    assert stream.stream.stats.malformed == 1  # not JSON at all
    assert stream.stats.skipped == 3  # bad quantity, unknown symbol, not an object
    assert stream.stream.stats.connections == 1
    assert [f.fill_id for f in account.sink.fills] == ["77"]
    # The unknown symbol reloaded the markets (in case it was just listed) and reconciled.
    assert len(account.market_loads) == 2
    assert len(account.reconciled) == 2


def test_htx_pings_are_answered_in_gzip_or_text_and_gzip_pushes_are_read():
    account = rig("htx")

    def ponged(ts: int) -> Callable[[list[Any]], bool]:
        return lambda received: {"action": "pong", "data": {"ts": ts}} in received

    script: list[Step] = [
        ("gzip", {"action": "ping", "data": {"ts": 1575537778295}}),
        ("wait", ponged(1575537778295)),
        ("handshake",),
        ("send", {"action": "ping", "data": {"ts": 1575537798295}}),
        ("wait", ponged(1575537798295)),
        ("gzip", FILL_FRAMES["htx"]),
    ]

    async def scenario() -> FakePrivateVenue:
        async with fake("htx", [script]) as server:
            stream = account.stream(server.url)
            await stream_until(stream, lambda: bool(account.sink.fills))
        return server

    server = asyncio.run(scenario())
    pongs = [f for f in server.received[0] if f.get("action") == "pong"]
    assert [p["data"]["ts"] for p in pongs] == [1575537778295, 1575537798295]
    [fill] = account.sink.fills
    assert (fill.fill_id, fill.fee, fill.fee_currency) == ("919219323232", Decimal("19.88"), "BTC")


@pytest.mark.parametrize(
    ("venue", "is_keepalive"),
    [
        ("binance", lambda f: f.get("method") == "ping"),
        ("gateio", lambda f: f.get("channel") == "spot.ping"),
    ],
)
def test_quiet_accounts_are_kept_alive_with_the_venues_ping(
    venue: str, is_keepalive: Callable[[dict[str, Any]], bool]
):
    account = rig(venue)
    script: list[Step] = [
        ("handshake",),
        ("wait", lambda received: sum(map(is_keepalive, received)) >= 2),
        ("send", FILL_FRAMES[venue]),
    ]

    async def scenario() -> AccountStream:
        async with fake(venue, [script]) as server:
            stream = account.stream(server.url, keepalive_interval=0.02)
            await stream_until(stream, lambda: bool(account.sink.fills))
        return stream

    stream = asyncio.run(scenario())
    assert stream.stats.skipped == 0  # the venue's answers to the pings are understood
    assert len(account.sink.fills) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_market_directory_reloads_at_most_every_so_often_and_sooner_while_empty():
    clock = FakeClock()
    answers: list[Any] = [VenueUnavailable("binance: down"), [btc_usdt("binance")]]

    def load() -> list[MarketInfo]:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    markets = MarketDirectory(load, refresh_after=300, clock=clock)

    async def scenario() -> list[bool]:
        tried = [await markets.refresh()]  # the venue is down: nothing loaded
        clock.now += 29
        tried.append(await markets.refresh())  # too soon
        clock.now += 1
        tried.append(await markets.refresh())  # 30 s: an empty directory tries again
        clock.now += 299
        tried.append(await markets.refresh())  # loaded: not before 300 s
        clock.now += 1
        tried.append(await markets.refresh())
        return tried

    assert asyncio.run(scenario()) == [False, False, True, False, True]
    assert markets.get("btcusdt") is not None
    assert markets.get("ETHBTC") is None


# --- supervisor ---------------------------------------------------------------------------------


def test_the_supervisor_follows_accounts_added_disabled_and_failed():
    accounts = {"a": live_ref("binance"), "b": live_ref("binance")}
    listed = [accounts["a"]]
    clock = FakeClock()
    built: list[UUID] = []
    rigs: dict[UUID, Rig] = {}

    async def scenario() -> None:
        async with fake("binance", [[("handshake",), ("silence",)]]) as server:

            def build(ref: AccountRef) -> AccountStream:
                built.append(ref.id)
                rigs[ref.id] = rigs.get(ref.id) or rig("binance", account=ref)
                return rigs[ref.id].stream(server.url)

            supervisor = AccountStreamSupervisor(
                build=build, accounts=lambda: list(listed), retry_after=60, clock=clock
            )
            await supervisor.sync()
            first = supervisor.running[accounts["a"].id]
            await until(lambda: first.stream.state == "streaming")

            listed.append(accounts["b"])  # an account added
            await supervisor.sync()
            assert set(supervisor.running) == {accounts["a"].id, accounts["b"].id}

            listed.remove(accounts["a"])  # an account disabled
            await supervisor.sync()
            assert set(supervisor.running) == {accounts["b"].id}
            assert first.task.done()
            assert first.stream.state == "stopped"

            second = supervisor.running[accounts["b"].id]
            await until(lambda: second.stream.state == "streaming")
            second.stream.stop()  # it ends (as after an auth failure)
            await second.task
            await supervisor.sync()
            assert supervisor.running[accounts["b"].id] is second  # not before retry_after
            clock.now += 61
            await supervisor.sync()
            assert supervisor.running[accounts["b"].id] is not second  # restarted
            await supervisor.stop_all()
            assert supervisor.running == {}

    asyncio.run(scenario())
    assert built == [accounts["a"].id, accounts["b"].id, accounts["b"].id]


# --- end to end through the ledger --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_fill_streamed_twice_and_reconciled_reaches_the_ledger_once(delivered: list[Event]):
    ref = live_account_create(owner_id=42, venue="binance", name="main", secret_key="binance-main")
    account = rig("binance", account=ref)
    trade = FILL_FRAMES["binance"]
    scripts: list[list[Step]] = [
        [("handshake",), ("send", ORDER_FRAMES["binance"]), ("send", trade), ("send", trade)],
        [("handshake",), ("send", trade)],  # the venue tells it again after a reconnect
    ]
    scripts[0].append(("drop",))

    async def scenario() -> AccountStream:
        async with fake("binance", scripts) as server:
            stream = account.stream(server.url, sink=ledger_sink())
            await stream_until(stream, lambda: stream.stats.fills == 3)
        return stream

    stream = asyncio.run(scenario())
    assert (stream.stats.acks, stream.stats.fills, stream.stats.ledger_errors) == (4, 3, 0)
    assert LiveFill.objects.filter(account_id=ref.id).count() == 1
    order = LiveOrder.objects.get(account_id=ref.id, client_order_id="dsta0001")
    assert (order.status, order.filled) == ("partially_filled", Decimal("0.004"))
    fills = [e for e in delivered if isinstance(e, OrderFilled)]
    assert len(fills) == 1
    [published] = fills
    assert (published.owner_id, published.account_id, published.fill_id) == (42, ref.id, "77")
    assert (published.fee, published.fee_currency) == (Decimal("0.0000075"), "BNB")


# --- the command -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_refuses_unknown_paper_and_disabled_accounts():
    from domains.exchange.services.paper.service import PaperExchange

    paper_id = PaperExchange().create_account(name="p", balances={"USDT": Decimal(1)})
    disabled = live_account_create(owner_id=3, venue="gateio", name="off", secret_key="k")
    LiveAccount.objects.filter(pk=disabled.id).update(enabled=False)
    for account_id, message in (
        (str(uuid4()), "unknown_account"),
        ("not-a-uuid", "unknown_account"),
        (str(paper_id), "paper account"),
        (str(disabled.id), "disabled"),
    ):
        with pytest.raises(CommandError, match=message) as refused:
            call_command("exchange_account_stream", "--account", account_id, stdout=StringIO())
        assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="--account"):
        call_command("exchange_account_stream", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_fill_missed_while_disconnected_is_recovered_by_the_reconcile_after_reconnecting(
    shared_data: Path, delivered: list[Event]
):
    """The whole path: an order placed through the gateway (ledger intent, then the venue's
    answer), the private stream up, the connection lost, the order filled at the venue while
    we are away, the reconnect's reconcile (real reconciler, through the gateway, against the
    simulated Binance) finds the fill; the stream's late report of the same trade changes
    nothing: one ``OrderFilled``, with the owner."""
    row = LiveAccount.objects.create(owner_id=42, venue="binance", name="main", secret_key="k")
    ref = account_get(row.pk)
    assert ref is not None
    clock = SimClock()
    sim = BinanceSim(clock)
    reconciled: list[ReconcileReport] = []
    with FakeVenue(clock=clock, handler=sim) as rest:
        venue = build_binance_rig(shared_data, rest, clock, sim)
        gateway = ExchangeGateway(
            venues=venue.factory,
            credentials=CredentialStore(
                reveal=lambda owner_id, key: VenueCredentials(api_key=API_KEY, secret=SECRET)
            ),
        )
        request = OrderRequest(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            amount=Decimal("0.001"),
            price=Decimal("50000"),
        )
        placed = gateway.place_order(account_id=row.pk, request=request)
        cid = placed.client_order_id
        order_id = sim.orders[cid]["orderId"]
        filled_at_venue: list[dict[str, Any]] = []

        def reconcile(account_id: UUID) -> ReconcileReport:
            report = reconcile_after_connect(account_id, api=gateway)
            reconciled.append(report)
            return report

        def fill_while_away(_received: list[Any]) -> bool:
            if reconciled and not filled_at_venue:  # after the first reconcile
                filled_at_venue.append(
                    sim.fill(cid, "0.001", commission="0.00000075", commission_asset="BNB")
                )
            return bool(filled_at_venue)

        def late_report() -> dict[str, Any]:
            trade = filled_at_venue[0]
            return binance_event(
                execution_report(
                    c=cid,
                    i=order_id,
                    q="0.00100000",
                    p="50000.00",
                    x="TRADE",
                    X="FILLED",
                    t=trade["id"],
                    l="0.00100000",
                    L=trade["price"],
                    z="0.00100000",
                    Z="50.00000000",
                    n="0.00000075",
                    N="BNB",
                    m=True,
                )
            )

        scripts: list[list[Step]] = [
            [
                ("handshake",),
                ("send", binance_event(execution_report(c=cid, i=order_id, q="0.00100000"))),
                ("wait", fill_while_away),
                ("drop",),
            ],
            [("handshake",), ("wait", lambda _: len(reconciled) == 2), ("send", late_report)],
        ]

        async def scenario() -> AccountStream:
            async with fake("binance", scripts) as server:
                account = rig("binance", account=ref)
                stream = account.stream(server.url, sink=ledger_sink(), reconcile=reconcile)
                await stream_until(stream, lambda: stream.stats.fills == 1)
            return stream

        stream = asyncio.run(scenario())

    assert [r.fills for r in reconciled] == [0, 1]  # the reconnect's reconcile found the fill
    assert stream.stats.fills == 1  # the stream reported it too, late ...
    assert stream.stats.changes == 0  # ... which changed nothing the ledger did not know
    fills = LiveFill.objects.filter(account=row)
    assert [(f.fill_id, f.fee, f.fee_currency) for f in fills] == [
        (str(filled_at_venue[0]["id"]), Decimal("0.00000075"), "BNB")
    ]
    order = LiveOrder.objects.get(account=row, client_order_id=cid)
    assert (order.status, order.filled) == ("filled", Decimal("0.001"))
    published = [e for e in delivered if isinstance(e, OrderFilled)]
    assert [(e.fill_id, e.owner_id, e.client_order_id) for e in published] == [
        (str(filled_at_venue[0]["id"]), 42, cid)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_1_when_the_account_has_no_usable_credentials():
    # The account's secret was never stored in core: the real credential store refuses, on
    # the first connection, before anything is signed or sent.
    ref = live_account_create(owner_id=5, venue="binance", name="main", secret_key="nowhere")
    server = fake("binance", [[("silence",)]])
    with serving(server), pytest.raises(CommandError, match="auth_failed") as refused:
        call_command(
            "exchange_account_stream",
            "--account",
            str(ref.id),
            "--url",
            server.url,
            stdout=StringIO(),
        )
    assert refused.value.returncode == 1
    assert server.received == [[]]


@contextmanager
def serving(server: FakePrivateVenue) -> Iterator[None]:
    """Run ``server`` on an event loop of its own, in a thread (the command runs its own)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        async with server:
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        loop.close()


@pytest.mark.django_db(transaction=True)
def test_the_supervisor_builds_streams_on_its_event_loop_without_blocking_database_calls():
    """``manage.py serve`` and ``exchange_account_stream --all`` start each stream from the
    supervisor's event loop: building it (the venue's runtime and settings, its public client)
    reads the database, which Django forbids there. It must be built off the loop."""
    account = live_account_create(
        owner_id=4243, venue="binance", name="supervised", secret_key="binance-key"
    )
    ref = account_get(account.id)
    assert ref is not None
    from domains.exchange.services.resilience.config import SettingsSource
    from domains.exchange.services.user_streams import AccountStreams
    from domains.exchange.services.venues import VenueFactory

    # A cold settings cache, as in a fresh process.
    factory = VenueFactory(runtime=ResilienceRuntime(settings_for=SettingsSource()))
    streams = AccountStreams(venues=factory, url="ws://127.0.0.1:9/never")
    supervisor = AccountStreamSupervisor(build=streams, accounts=lambda: [ref])

    async def scenario() -> None:
        await supervisor.sync()
        running = supervisor.running.get(ref.id)
        assert running is not None, "the stream was not started"
        running.stream.stop()
        await supervisor.stop_all()

    asyncio.run(scenario())


def test_a_database_that_cannot_take_the_status_event_does_not_end_the_stream():
    # The websocket's up/down goes out as a durable event (an outbox row): a database blip at
    # that moment loses the event (logged), not the stream and the orders it carries.
    from django.db import OperationalError

    account = rig("binance")
    failures: list[str] = []

    def report(event: Event) -> None:
        failures.append(type(event).__name__)
        raise OperationalError("database is restarting")

    runtime = ResilienceRuntime(settings_for=defaults_of, report=report, rng=random.Random(1))

    async def scenario() -> AccountStream:
        scripts: list[list[Step]] = [[("handshake",), ("send", ORDER_FRAMES["binance"])]]
        async with fake("binance", scripts) as server:
            stream = account.stream(server.url, runtime=runtime.venue("binance"))
            await stream_until(stream, lambda: bool(account.sink.acks))
        return stream

    stream = asyncio.run(scenario())
    assert failures[:1] == ["VenueStatusChanged"]
    assert len(account.sink.acks) == 1
    assert stream.stats.acks == 1
