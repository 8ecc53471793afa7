"""Which job kinds exist in this process: filled by ``@job_actor`` as ``tasks.py`` modules load."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
from django.utils.module_loading import autodiscover_modules

from dsta.kernel.errors import InvalidInput

_kinds: dict[str, "JobKind"] = {}
_lock = threading.Lock()
_discovered = False


@dataclass(frozen=True)
class JobKind:
    """A registered job kind: its actor, the wrapped function and how to treat an orphan."""

    kind: str
    actor: dramatiq.Actor[Any, Any]
    fn: Callable[..., Any]
    resumable: bool


def register(spec: JobKind) -> None:
    """Record a kind; a second registration of the same kind is a programming error."""
    with _lock:
        if spec.kind in _kinds:
            raise ValueError(f"job kind {spec.kind!r} is already registered")
        _kinds[spec.kind] = spec


def autodiscover_tasks() -> None:
    """Import every installed app's ``tasks`` module once, declaring its actors."""
    global _discovered
    if not _discovered:
        autodiscover_modules("tasks")
        _discovered = True


def find_kind(kind: str) -> JobKind | None:
    """The registered kind, importing ``tasks`` modules first if it is not known yet."""
    spec = _kinds.get(kind)
    if spec is None and not _discovered:
        autodiscover_tasks()
        spec = _kinds.get(kind)
    return spec


def resolve(kind_or_actor: str | dramatiq.Actor[Any, Any]) -> JobKind:
    """The kind named by a string or by its actor; InvalidInput when there is none."""
    name = kind_or_actor if isinstance(kind_or_actor, str) else kind_or_actor.actor_name
    spec = find_kind(name)
    if spec is None:
        raise InvalidInput(f"unknown job kind {name!r}", details={"kind": name})
    return spec


def registered_kinds() -> list[str]:
    """Names of the kinds known to this process, sorted."""
    return sorted(_kinds)
