"""Exchange accounts of a user, paper and live, and which one a request means.

An account belongs to one owner (core's user id) and one venue. Requests name an account by
``account_id`` or get the owner's default on that venue: the one flagged ``is_default``, or the
only account they hold there. At most one account per (owner, venue) is the default across
both tables: setting one clears the others in the same transaction. A user only ever finds
their own accounts: another user's answers ``unknown_account`` (404) like one that does not
exist.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.db import transaction

from domains.exchange.api import UnknownAccount, Venue
from domains.exchange.models import LiveAccount, PaperAccount
from domains.exchange.services.paper.service import PaperExchange
from domains.exchange.services.paper.state import PaperConfig
from dsta.kernel.errors import InvalidInput

AccountKind = Literal["paper", "live"]
LIVE_VENUES = ("binance", "gateio", "htx")


@dataclass(frozen=True)
class AccountRef:
    """What the surfaces need to know about an account (never its credentials)."""

    id: UUID
    kind: AccountKind
    venue: str
    name: str
    owner_id: int | None
    is_default: bool
    created_at: datetime
    secret_key: str = ""  # live accounts: the name of the credentials secret in core
    enabled: bool = True


def _paper_ref(row: PaperAccount) -> AccountRef:
    return AccountRef(
        id=row.pk,
        kind="paper",
        venue=row.venue,
        name=row.name,
        owner_id=row.owner_id,
        is_default=row.is_default,
        created_at=row.created_at,
    )


def _live_ref(row: LiveAccount) -> AccountRef:
    return AccountRef(
        id=row.pk,
        kind="live",
        venue=row.venue,
        name=row.name,
        owner_id=row.owner_id,
        is_default=row.is_default,
        created_at=row.created_at,
        secret_key=row.secret_key,
        enabled=row.enabled,
    )


def _as_uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None


def account_get(account_id: UUID | str) -> AccountRef | None:
    """Any account by id (the gateway's routing: the caller checked ownership already)."""
    pk = _as_uuid(account_id)
    if pk is None:
        return None
    paper = PaperAccount.objects.filter(pk=pk).first()
    if paper is not None:
        return _paper_ref(paper)
    live = LiveAccount.objects.filter(pk=pk).first()
    return _live_ref(live) if live is not None else None


def live_accounts_enabled() -> list[AccountRef]:
    """Every enabled live account, oldest first (the user-data stream supervisor's list)."""
    rows = LiveAccount.objects.filter(enabled=True).order_by("created_at")
    return [_live_ref(row) for row in rows]


def accounts_of(*, owner_id: int, venue: str | None = None) -> list[AccountRef]:
    """The owner's accounts (on ``venue`` when given), oldest first."""
    papers = PaperAccount.objects.filter(owner_id=owner_id)
    lives = LiveAccount.objects.filter(owner_id=owner_id)
    if venue is not None:
        papers, lives = papers.filter(venue=venue), lives.filter(venue=venue)
    refs = [_paper_ref(r) for r in papers] + [_live_ref(r) for r in lives]
    return sorted(refs, key=lambda ref: (ref.created_at, str(ref.id)))


def account_for_owner(
    *, owner_id: int, venue: str, account_id: UUID | str | None = None
) -> AccountRef:
    """The account a request of ``owner_id`` on ``venue`` means (see the module docstring)."""
    if account_id not in (None, ""):
        assert account_id is not None
        ref = account_get(account_id)
        if ref is None or ref.owner_id != owner_id or ref.venue != venue:
            raise UnknownAccount(
                f"you have no account {account_id} on {venue}",
                details={"account_id": str(account_id), "venue": venue},
            )
        return ref
    owned = accounts_of(owner_id=owner_id, venue=venue)
    defaults = [ref for ref in owned if ref.is_default]
    if defaults:
        return defaults[0]
    if len(owned) == 1:
        return owned[0]
    raise UnknownAccount(
        f"no default account on {venue}: pass account_id"
        + (" or mark one as default" if owned else " (you have none there)"),
        details={"venue": venue, "accounts": [str(ref.id) for ref in owned]},
    )


def account_set_default(*, owner_id: int, account_id: UUID | str) -> AccountRef:
    """Make one of the owner's accounts their default on its venue (clearing the others)."""
    ref = account_get(account_id)
    if ref is None or ref.owner_id != owner_id:
        raise UnknownAccount(
            f"you have no account {account_id}", details={"account_id": str(account_id)}
        )
    with transaction.atomic():
        PaperAccount.objects.filter(owner_id=owner_id, venue=ref.venue, is_default=True).update(
            is_default=False
        )
        LiveAccount.objects.filter(owner_id=owner_id, venue=ref.venue, is_default=True).update(
            is_default=False
        )
        model = PaperAccount if ref.kind == "paper" else LiveAccount
        model.objects.filter(pk=ref.id).update(is_default=True)
    updated = account_get(ref.id)
    assert updated is not None
    return updated


def _becomes_default(owner_id: int, venue: str, requested: bool) -> bool:
    """A new account is the default when asked, or when it is the owner's first there."""
    return requested or not accounts_of(owner_id=owner_id, venue=venue)


def paper_account_open(
    *,
    owner_id: int,
    name: str,
    balances: Mapping[str, Decimal],
    venue: str = Venue.PAPER.value,
    config: PaperConfig | None = None,
    make_default: bool = False,
    paper: PaperExchange | None = None,
) -> AccountRef:
    """Open a paper account for ``owner_id`` with its starting balances."""
    try:
        Venue(venue)
    except ValueError:
        raise InvalidInput(
            f"unknown venue {venue!r}", details={"field": "venue", "supported": list(Venue)}
        ) from None
    with transaction.atomic():
        default = _becomes_default(owner_id, venue, make_default)
        account_id = (paper or PaperExchange()).create_account(
            name=name, balances=balances, owner_id=owner_id, venue=venue, config=config
        )
        if default:
            account_set_default(owner_id=owner_id, account_id=account_id)
    ref = account_get(account_id)
    assert ref is not None
    return ref


def live_account_create(
    *, owner_id: int, venue: str, name: str, secret_key: str, make_default: bool = False
) -> AccountRef:
    """Register a live account whose credentials are the owner's secret ``secret_key`` in core
    (stored there through core's secrets API; only the key's name is kept here)."""
    if venue not in LIVE_VENUES:
        raise InvalidInput(
            f"live accounts exist on {', '.join(LIVE_VENUES)}, not {venue!r}",
            details={"field": "venue"},
        )
    if not name.strip() or not secret_key.strip():
        raise InvalidInput("a live account needs a name and a secret key name")
    with transaction.atomic():
        default = _becomes_default(owner_id, venue, make_default)
        row = LiveAccount.objects.create(
            owner_id=owner_id, venue=venue, name=name.strip(), secret_key=secret_key.strip()
        )
        if default:
            account_set_default(owner_id=owner_id, account_id=row.pk)
    ref = account_get(row.pk)
    assert ref is not None
    return ref
