"""The sequence-checked local book (``adapters/sequenced_book.py``) under random update streams.

A venue's true book evolves through random updates (levels set or removed, ids advancing by
random steps). Each update is sent as the venue's raw frame: Binance/Gate ``U``/``u`` with
string levels, or HTX ``prevSeqNum``/``seqNum`` with JSON numbers. The client subscribes part
way through; its snapshot is pulled (REST, possibly older than the stream: asked again) or
pushed (HTX ``req``: the answer comes a few updates later, ahead of or at the stream).

Properties: every book published equals the venue's true book at that update id; after a
complete stream the book equals the final true book (as if rebuilt from it); leaving out any
one update after the sync is detected as a gap, and the book still ends equal to the truth.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.exchange.adapters.binance_depth import binance_delta
from domains.exchange.adapters.gate_frames import gate_delta
from domains.exchange.adapters.htx_frames import htx_delta
from domains.exchange.adapters.sequenced_book import (
    BookDelta,
    BookSide,
    Rule,
    SequencedBook,
)
from domains.exchange.api import BookLevel, OrderBook, VenueUnavailable

Side = dict[Decimal, Decimal]
AT = datetime(2024, 1, 1, tzinfo=UTC)
RULES: dict[str, Rule] = {"binance": binance_delta, "gateio": gate_delta, "htx": htx_delta}


@dataclass
class History:
    """The venue's book after each update: ``ids[i]``/``bids[i]``/``asks[i]``; index 0 is the
    book before the first update, update ``i`` takes ``i - 1`` to ``i``."""

    ids: list[int]
    bids: list[Side]
    asks: list[Side]
    changes: list[tuple[list[list[Any]], list[list[Any]]]] = field(default_factory=list)

    def frame(self, venue: str, index: int) -> dict[str, Any]:
        bids, asks = self.changes[index - 1]
        if venue == "htx":  # JSON numbers
            return {
                "prevSeqNum": self.ids[index - 1],
                "seqNum": self.ids[index],
                "bids": [[float(p), float(q)] for p, q in bids],
                "asks": [[float(p), float(q)] for p, q in asks],
            }
        return {"U": self.ids[index - 1] + 1, "u": self.ids[index], "b": bids, "a": asks}

    def snapshot(self, index: int) -> OrderBook:
        return OrderBook(
            venue="test",
            symbol="BTC/USDT",
            timestamp=AT,
            bids=tuple(BookLevel(p, q) for p, q in sorted(self.bids[index].items(), reverse=True)),
            asks=tuple(BookLevel(p, q) for p, q in sorted(self.asks[index].items())),
            sequence=self.ids[index],
        )

    def truth(self) -> dict[int, tuple[Side, Side]]:
        return {i: (b, a) for i, b, a in zip(self.ids, self.bids, self.asks, strict=True)}


levels = st.lists(
    st.tuples(st.integers(1, 12), st.integers(0, 4)), max_size=4, unique_by=lambda lv: lv[0]
)


@st.composite
def histories(draw: st.DrawFn) -> History:
    start_id = draw(st.integers(1, 10**12))
    bids: Side = {Decimal(p): Decimal(q) for p, q in draw(levels) if q}
    asks: Side = {Decimal(p + 100): Decimal(q) for p, q in draw(levels) if q}
    history = History([start_id], [dict(bids)], [dict(asks)])
    for _ in range(draw(st.integers(2, 25))):
        bid_changes = [[str(p), str(q)] for p, q in draw(levels)]
        ask_changes = [[str(p + 100), str(q)] for p, q in draw(levels)]
        for side, changes in ((bids, bid_changes), (asks, ask_changes)):
            for price, quantity in changes:
                if Decimal(quantity):
                    side[Decimal(price)] = Decimal(quantity)
                else:
                    side.pop(Decimal(price), None)
        history.ids.append(history.ids[-1] + draw(st.integers(1, 50)))
        history.bids.append(dict(bids))
        history.asks.append(dict(asks))
        history.changes.append((bid_changes, ask_changes))
    return history


@dataclass
class Run:
    book: SequencedBook
    published: list[OrderBook]
    snapshots_asked: int


def play(
    venue: str,
    history: History,
    *,
    start: int,
    skip: int | None,
    pushed: bool,
    lag: int,
    delay: int,
    ahead: int,
) -> Run:
    """Deliver updates ``start..`` (but ``skip``) as frames; answer snapshot requests."""
    last = len(history.ids) - 1
    published: list[OrderBook] = []
    position = start  # the venue's position: the last update sent so far
    asked: list[int] = []  # the venue's position at each request
    first_pull = [True]

    async def keep(book: OrderBook) -> None:
        published.append(book)

    async def snapshot() -> OrderBook | None:
        asked.append(position)
        if pushed:
            return None
        index = position - lag if first_pull[0] else position  # a lagging REST cache at first
        first_pull[0] = False
        return history.snapshot(max(0, index))

    book = SequencedBook(
        venue=venue,
        symbol="BTC/USDT",
        rule=RULES[venue],
        snapshot=snapshot,
        on_book=keep,
        depth=1000,
        max_snapshot_attempts=3,
    )

    async def scenario() -> None:
        nonlocal position
        answered = 0
        for index in range(start, last + 1):
            position = index
            if index != skip:
                await book.on_event(history.frame(venue, index))
            waiting = pushed and book.awaiting and len(asked) > answered
            if waiting and (index - asked[-1] >= delay or index == last):
                answered = len(asked)
                # The venue may be ahead when it answers: the updates up to there are old.
                await book.on_snapshot(history.snapshot(min(last, index + ahead)))

    asyncio.run(scenario())
    return Run(book, published, len(asked))


def sides(book: OrderBook) -> tuple[Side, Side]:
    return {lv.price: lv.amount for lv in book.bids}, {lv.price: lv.amount for lv in book.asks}


def assert_every_publication_true(run: Run, history: History) -> None:
    truth = history.truth()  # by update id
    for published in run.published:
        assert published.sequence in truth, "a book at an id the venue never had"
        assert sides(published) == truth[published.sequence]


scenario_options = {
    "venue": st.sampled_from(sorted(RULES)),
    "pushed": st.booleans(),
    "lag": st.integers(0, 3),
    "delay": st.integers(0, 3),
    "ahead": st.integers(0, 2),
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data(), **scenario_options)
def test_a_valid_stream_rebuilds_the_final_book(
    history: History,
    data: st.DataObject,
    venue: str,
    pushed: bool,
    lag: int,
    delay: int,
    ahead: int,
) -> None:
    last = len(history.ids) - 1
    start = data.draw(st.integers(1, last), label="start")
    run = play(
        venue, history, start=start, skip=None, pushed=pushed, lag=lag, delay=delay, ahead=ahead
    )
    assert_every_publication_true(run, history)
    assert run.book.gaps == 0
    assert run.book.synced
    assert run.book.update_id == history.ids[last]
    assert (run.book.bids.amounts, run.book.asks.amounts) == (
        history.bids[last],
        history.asks[last],
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data(), **scenario_options)
def test_any_skipped_update_is_a_gap(
    history: History,
    data: st.DataObject,
    venue: str,
    pushed: bool,
    lag: int,
    delay: int,
    ahead: int,
) -> None:
    last = len(history.ids) - 1
    start = data.draw(st.integers(1, last - 1), label="start")
    run_clean = play(
        venue, history, start=start, skip=None, pushed=pushed, lag=lag, delay=delay, ahead=ahead
    )
    first_book = run_clean.published[0].sequence
    assert first_book is not None
    synced_at = history.ids.index(first_book)  # first update after sync
    if synced_at + 1 >= last:
        return  # nothing to leave out between the sync and the last update
    skip = data.draw(st.integers(synced_at + 1, last - 1), label="skip")
    run = play(
        venue, history, start=start, skip=skip, pushed=pushed, lag=lag, delay=delay, ahead=ahead
    )
    assert run.book.gaps == 1, "a missing update went unnoticed"
    assert_every_publication_true(run, history)
    assert run.snapshots_asked == run_clean.snapshots_asked + 1  # resynced once more
    assert (run.book.bids.amounts, run.book.asks.amounts) == (
        history.bids[last],
        history.asks[last],
    )


# --- hand-checked cases ----------------------------------------------------------------------


def one_book(snapshot: Any, published: list[OrderBook], **options: Any) -> SequencedBook:
    async def keep(book: OrderBook) -> None:
        published.append(book)

    return SequencedBook(
        venue="htx",
        symbol="BTC/USDT",
        rule=htx_delta,
        snapshot=snapshot,
        on_book=keep,
        **options,
    )


def test_a_pushed_snapshot_that_never_comes_is_asked_again_after_patience():
    asked: list[int] = []

    async def request() -> None:
        asked.append(1)

    book = one_book(request, [], patience=3)

    async def scenario() -> None:
        for sequence in range(10, 16):
            await book.on_event({"prevSeqNum": sequence - 1, "seqNum": sequence})

    asyncio.run(scenario())
    assert len(asked) == 2  # at the first update, then after 3 more without an answer
    assert len(book.buffered) == 6
    assert not book.synced


def test_a_late_or_refused_pushed_snapshot_changes_nothing_and_the_next_update_asks_again():
    asked: list[int] = []
    published: list[OrderBook] = []

    async def request() -> None:
        asked.append(1)

    book = one_book(request, published)
    image = OrderBook("htx", "BTC/USDT", AT, (), (), sequence=5)

    async def scenario() -> None:
        await book.on_snapshot(image)  # nobody asked: ignored
        await book.on_event({"prevSeqNum": 9, "seqNum": 10})
        book.snapshot_failed()
        await book.on_event({"prevSeqNum": 10, "seqNum": 11})
        await book.on_snapshot(replace_sequence(image, 4))  # older than the buffer: not used
        await book.on_event({"prevSeqNum": 11, "seqNum": 12})

    asyncio.run(scenario())
    assert len(asked) == 3
    assert published == []
    assert not book.synced
    assert book.stale_snapshots == 1


def replace_sequence(book: OrderBook, sequence: int) -> OrderBook:
    return OrderBook(book.venue, book.symbol, book.timestamp, book.bids, book.asks, sequence)


def test_a_full_update_replaces_the_book_whatever_came_before():
    published: list[OrderBook] = []

    async def unreachable() -> OrderBook:
        raise VenueUnavailable("gateio: down")

    book = SequencedBook(
        venue="gateio",
        symbol="BTC/USDT",
        rule=gate_delta,
        snapshot=unreachable,
        on_book=lambda b: _append(published, b),
    )

    async def scenario() -> None:
        await book.on_event({"U": 5, "u": 6, "b": [["1", "1"]], "a": []})  # snapshot fails
        await book.on_event({"full": True, "u": 40, "b": [["2", "3"]], "a": [["9", "1"]]})
        await book.on_event({"U": 41, "u": 42, "b": [["2", "0"]], "a": []})

    asyncio.run(scenario())
    assert [b.sequence for b in published] == [40, 42]
    assert sides(published[0]) == ({Decimal(2): Decimal(3)}, {Decimal(9): Decimal(1)})
    assert sides(published[1]) == ({}, {Decimal(9): Decimal(1)})


async def _append(published: list[OrderBook], book: OrderBook) -> None:
    published.append(book)


@pytest.mark.parametrize(
    ("rule", "frame"),
    [
        (binance_delta, {"U": 1}),
        (binance_delta, {"U": "one", "u": 2}),
        (binance_delta, {"U": 1, "u": 2, "b": "60000"}),
        (gate_delta, {"U": True, "u": 2}),
        (htx_delta, {"seqNum": 5}),
        (htx_delta, {"prevSeqNum": 4, "seqNum": None}),
    ],
)
def test_a_malformed_update_is_a_value_error(rule: Rule, frame: Mapping[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"update|lists"):
        rule(frame)


def test_each_rule_reads_its_venue_ids() -> None:
    def ids(delta: BookDelta) -> tuple[int, int, bool]:
        return delta.first, delta.last, delta.full

    assert ids(binance_delta({"U": 157, "u": 160})) == (157, 160, False)
    assert ids(gate_delta({"U": 48776301, "u": 48776306})) == (48776301, 48776306, False)
    assert ids(gate_delta({"full": True, "u": 48776306})) == (48776306, 48776306, True)
    # HTX numbers are not consecutive: the update follows 100020142010, whatever came between.
    assert ids(htx_delta({"prevSeqNum": 100020142010, "seqNum": 100020146795})) == (
        100020142011,
        100020146795,
        False,
    )


def test_a_gap_among_updates_buffered_for_a_pushed_snapshot_discards_them_and_asks_again():
    asked: list[int] = []
    published: list[OrderBook] = []

    async def request() -> None:
        asked.append(1)

    book = one_book(request, published)
    image = OrderBook("htx", "BTC/USDT", AT, (BookLevel(Decimal(1), Decimal(1)),), (), 10)

    async def scenario() -> None:
        await book.on_event({"prevSeqNum": 9, "seqNum": 10})  # asks for the image
        await book.on_event({"prevSeqNum": 10, "seqNum": 11, "bids": [[2.0, 1.0]]})
        await book.on_event({"prevSeqNum": 12, "seqNum": 13})  # 11 -> 12 never came
        await book.on_snapshot(image)  # 10: drops 10, applies 11, then meets the gap
        assert (book.gaps, book.synced, [d.last for d in book.buffered]) == (1, False, [13])
        await book.on_event({"prevSeqNum": 13, "seqNum": 14})  # asks again
        await book.on_snapshot(replace_sequence(image, 13))

    asyncio.run(scenario())
    assert len(asked) == 2
    assert [b.sequence for b in published] == [14]  # nothing was published from the bad buffer
    assert sides(published[0]) == ({Decimal(1): Decimal(1)}, {})


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=40).map(lambda tick: Decimal(tick) / 4),
            st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(2)]),
        ),
        max_size=80,
    ),
    st.booleans(),
    st.integers(min_value=0, max_value=12),
)
def test_a_book_side_is_a_dict_whose_top_levels_are_the_sorted_best(
    changes: list[tuple[Decimal, Decimal]], descending: bool, depth: int
) -> None:
    side, plain = BookSide(descending=descending), {}
    for price, amount in changes:
        side.set(price, amount)
        if amount:
            plain[price] = amount
        else:
            plain.pop(price, None)
    best = sorted(plain.items(), reverse=descending)
    assert side.amounts == plain
    assert side.items() == best
    assert [(lv.price, lv.amount) for lv in side.top(depth)] == best[:depth]


@pytest.mark.parametrize(
    "level",
    [
        ["NaN", "1"],
        ["sNaN", "1"],
        ["Infinity", "1"],
        ["-5", "1"],
        ["0", "1"],
        ["3", "NaN"],
        ["3", "-1"],
        ["3", "Infinity"],
        [float("nan"), 1.0],
    ],
)
def test_a_level_that_is_not_a_price_and_size_is_skipped_not_fatal(level: list[Any]) -> None:
    """A level no venue documents (NaN, infinite or negative numbers) is skipped like an
    unreadable one: it must neither end the stream (a NaN price cannot be ordered) nor reach
    the published book."""
    published: list[OrderBook] = []
    image = OrderBook("gateio", "BTC/USDT", AT, (BookLevel(Decimal(1), Decimal(1)),), (), 10)

    async def snapshot() -> OrderBook:
        return image

    book = SequencedBook(
        venue="gateio",
        symbol="BTC/USDT",
        rule=gate_delta,
        snapshot=snapshot,
        on_book=lambda b: _append(published, b),
    )

    async def scenario() -> None:
        await book.on_event({"U": 11, "u": 11, "b": [level, ["2", "1"]], "a": [level]})
        await book.on_event({"full": True, "U": 12, "u": 12, "b": [level], "a": []})

    asyncio.run(scenario())
    assert sides(published[0]) == ({Decimal(2): Decimal(1), Decimal(1): Decimal(1)}, {})
    assert sides(published[1]) == ({}, {})
