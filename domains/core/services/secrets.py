"""Secrets: set, replace, delete, list metadata, reveal (audited) and rotate encryption keys.

Values are validated here (the API, the admin and the command all come through), encrypted
with the primary key (``crypto.py``) and never logged. Every plaintext read is recorded in the
audit log in the transaction that stamps ``last_read_at``: no read without its record.
"""

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.core.api import (
    EXCHANGE_CREDENTIAL_FIELDS,
    EXCHANGE_CREDENTIAL_REQUIRED,
    GENERIC_SECRET_FIELD,
    REVEAL_CALLERS,
    SECRET_FIELD_MAX_CHARS,
    SECRET_KEY_MAX_LENGTH,
    SECRET_KEY_PATTERN,
    SECRET_KINDS,
    SecretInfo,
    SecretInvalid,
    SecretNotFound,
    SecretRevealForbidden,
    SecretsApi,
    SecretUndecryptable,
    SecretValue,
    SecretVersionConflict,
)
from domains.core.models import Secret
from domains.core.services import crypto
from domains.core.services.audit import audit_record
from dsta.kernel.rpc.caller import calling_domain

logger = logging.getLogger(__name__)

# Audit actions of the secrets store.
AUDIT_CREATED = "secret.created"
AUDIT_REPLACED = "secret.replaced"
AUDIT_DELETED = "secret.deleted"
AUDIT_READ = "secret.read"
AUDIT_REFUSED = "secret.reveal_refused"
AUDIT_ROTATED = "secret.rotated"
ROTATE_BATCH_SIZE = 200


def secret_key_check(key: Any) -> str:
    """``key`` if it is a well-formed secret key, else SecretInvalid."""
    if (
        not isinstance(key, str)
        or len(key) > SECRET_KEY_MAX_LENGTH
        or not SECRET_KEY_PATTERN.match(key)
    ):
        raise SecretInvalid(
            "a secret key is lower-case segments separated by '/', e.g. 'exchange/binance/main' "
            f"or 'binance.api_key', at most {SECRET_KEY_MAX_LENGTH} characters",
            details={"field": "key"},
        )
    return key


def secret_fields_from(kind: Any, value: Any) -> dict[str, str]:
    """The plaintext fields of a secret of ``kind`` given as ``value``, else SecretInvalid.

    exchange_credentials: an object with ``api_key`` and ``secret`` (and optionally
    ``passphrase``), strings. generic: a string (or ``{"value": "..."}``).
    """
    if kind not in SECRET_KINDS:
        raise SecretInvalid(
            f"kind must be one of {', '.join(SECRET_KINDS)}", details={"field": "kind"}
        )
    if kind == "generic":
        if isinstance(value, dict) and set(value) == {GENERIC_SECRET_FIELD}:
            value = value[GENERIC_SECRET_FIELD]
        fields = {GENERIC_SECRET_FIELD: _field_text(GENERIC_SECRET_FIELD, value)}
    else:
        if not isinstance(value, dict):
            raise SecretInvalid(
                "exchange credentials are an object: "
                '{"api_key": "...", "secret": "...", "passphrase": "..." (optional)}',
                details={"field": "value"},
            )
        unknown = sorted(str(name) for name in value if name not in EXCHANGE_CREDENTIAL_FIELDS)
        missing = [name for name in EXCHANGE_CREDENTIAL_REQUIRED if value.get(name) in (None, "")]
        if unknown or missing:
            raise SecretInvalid(
                "exchange credentials need api_key and secret, may have passphrase, and "
                "nothing else",
                details={"unknown_fields": unknown, "missing_fields": missing},
            )
        fields = {
            name: _field_text(name, value[name])
            for name in EXCHANGE_CREDENTIAL_FIELDS
            if value.get(name) not in (None, "")
        }
    return fields


def _field_text(name: str, text: Any) -> str:
    if not isinstance(text, str) or not text:
        raise SecretInvalid(f"{name} must be a non-empty string", details={"field": name})
    if len(text) > SECRET_FIELD_MAX_CHARS:
        raise SecretInvalid(
            f"{name} is longer than {SECRET_FIELD_MAX_CHARS} characters", details={"field": name}
        )
    return text


def _seal(*, owner_id: int, key: str, kind: str, fields: dict[str, str]) -> str:
    # The owner and key travel inside the ciphertext: a token pasted onto another row (or
    # another user's row) is recognised as foreign when it is opened.
    document = {"owner": owner_id, "key": key, "kind": kind, "fields": fields}
    return crypto.encrypt(json.dumps(document, separators=(",", ":")).encode())


def _open(row: Secret) -> dict[str, str]:
    try:
        document = json.loads(crypto.decrypt(row.ciphertext))
        belongs = document["owner"] == row.owner_id and document["key"] == row.key
        fields = document["fields"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SecretUndecryptable("a stored secret is not a secret document") from exc
    if not belongs or not isinstance(fields, dict):
        raise SecretUndecryptable(
            "a stored secret's ciphertext belongs to another secret",
            details={"owner_id": row.owner_id, "key": row.key},
        )
    return {str(name): str(text) for name, text in fields.items()}


def serialize_secret(row: Secret) -> SecretInfo:
    """The metadata DTO of a stored secret (never its value)."""
    return SecretInfo(
        owner_id=row.owner_id,
        key=row.key,
        kind=row.kind,  # type: ignore[arg-type]  # a Secret.Kind value
        fields=tuple(row.fields),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_read_at=row.last_read_at,
    )


@dataclass(frozen=True)
class SecretWrite:
    """The outcome of ``secret_set``: the stored row and whether it was new."""

    secret: Secret
    created: bool


def secret_set(
    *,
    owner_id: int,
    key: str,
    kind: str,
    value: Any,
    actor_id: int | None = None,
    expected_version: int | None = None,
    ip: str = "",
    source: str = "core",
) -> SecretWrite:
    """Create or replace ``owner_id``'s secret ``key`` with ``value`` (see
    :func:`secret_fields_from`), encrypted under the primary key, and audit the write.

    ``expected_version``: 0 means "must not exist yet", N "must be at version N"; a mismatch
    raises SecretVersionConflict. Raises SecretInvalid for a bad key, kind or value.
    """
    secret_key_check(key)
    fields = secret_fields_from(kind, value)
    if expected_version is not None and (
        isinstance(expected_version, bool)
        or not isinstance(expected_version, int)
        or expected_version < 0
    ):
        raise SecretInvalid("expected_version must be an integer >= 0")
    ciphertext = _seal(owner_id=owner_id, key=key, kind=kind, fields=fields)
    with transaction.atomic():
        row = Secret.objects.select_for_update().filter(owner_id=owner_id, key=key).first()
        current = row.version if row is not None else 0
        if expected_version is not None and expected_version != current:
            raise SecretVersionConflict(
                f"secret {key!r} is at version {current}, not {expected_version}",
                details={"key": key, "current_version": current},
            )
        created = row is None
        if row is None:
            try:
                with transaction.atomic():
                    row = Secret.objects.create(
                        owner_id=owner_id,
                        key=key,
                        kind=kind,
                        ciphertext=ciphertext,
                        fields=sorted(fields),
                    )
            except IntegrityError as exc:
                raise SecretVersionConflict(
                    f"secret {key!r} was created concurrently; read it again and retry",
                    details={"key": key},
                ) from exc
        else:
            row.kind = kind
            row.ciphertext = ciphertext
            row.fields = sorted(fields)
            row.version += 1
            row.save(update_fields=["kind", "ciphertext", "fields", "version", "updated_at"])
        audit_record(
            action=AUDIT_CREATED if created else AUDIT_REPLACED,
            user_id=owner_id,
            target=f"secret:{key}",
            details={"kind": kind, "version": row.version, "actor_id": actor_id},
            ip=ip,
            source=source,
        )
    logger.info(
        "secret %s", "created" if created else "replaced", extra=_log_context(row, actor_id)
    )
    return SecretWrite(secret=row, created=created)


def secret_delete(
    *, owner_id: int, key: str, actor_id: int | None = None, ip: str = "", source: str = "core"
) -> None:
    """Delete ``owner_id``'s secret ``key`` (SecretNotFound if there is none) and audit it."""
    secret_key_check(key)
    with transaction.atomic():
        row = Secret.objects.select_for_update().filter(owner_id=owner_id, key=key).first()
        if row is None:
            raise SecretNotFound(f"no secret {key!r}", details={"key": key})
        row.delete()
        audit_record(
            action=AUDIT_DELETED,
            user_id=owner_id,
            target=f"secret:{key}",
            details={"kind": row.kind, "actor_id": actor_id},
            ip=ip,
            source=source,
        )
    logger.info("secret deleted", extra={"secret_owner": owner_id, "secret_key": key})


def secret_get(*, owner_id: int, key: str) -> Secret:
    """The stored row (metadata; the value stays sealed); SecretNotFound if there is none."""
    secret_key_check(key)
    row = Secret.objects.filter(owner_id=owner_id, key=key).first()
    if row is None:
        raise SecretNotFound(f"no secret {key!r}", details={"key": key})
    return row


def secrets_of(*, owner_id: int) -> list[Secret]:
    """Every secret row of ``owner_id``, ordered by key."""
    return list(Secret.objects.filter(owner_id=owner_id).order_by("key"))


def secret_read(*, owner_id: int, key: str, reader: str) -> SecretValue:
    """Decrypt ``owner_id``'s secret ``key`` for ``reader`` (a domain, or a part of core such
    as "core.notifications"), stamping ``last_read_at`` and auditing the read in one
    transaction. Inside core only: other domains go through ``SecretsApi.reveal``."""
    secret_key_check(key)
    with transaction.atomic():
        row = Secret.objects.select_for_update().filter(owner_id=owner_id, key=key).first()
        if row is None:
            raise SecretNotFound(f"no secret {key!r}", details={"key": key})
        try:
            fields = _open(row)
        except SecretUndecryptable:
            logger.error("secret cannot be decrypted", extra=_log_context(row, None))
            raise
        row.last_read_at = timezone.now()
        row.save(update_fields=["last_read_at"])
        audit_record(
            action=AUDIT_READ,
            user_id=owner_id,
            target=f"secret:{key}",
            details={"reader": reader, "version": row.version, "kind": row.kind},
            source="core",
        )
    return SecretValue(
        owner_id=owner_id,
        key=key,
        kind=row.kind,  # type: ignore[arg-type]  # a Secret.Kind value
        version=row.version,
        fields=fields,
    )


@dataclass(frozen=True)
class RotationReport:
    """What ``secrets_rotate`` did: rows seen and rows re-encrypted."""

    total: int
    rotated: int


def secrets_rotate(*, batch_size: int = ROTATE_BATCH_SIZE) -> RotationReport:
    """Re-encrypt every secret under the primary key, ``batch_size`` rows per transaction.

    Safe to run again or to interrupt: every ciphertext reads with the full key list before,
    during and after. A row no configured key opens stops the run with SecretUndecryptable
    naming it (the batches before it stay rotated).
    """
    if batch_size < 1:
        raise SecretInvalid("batch_size must be at least 1")
    total = rotated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Secret.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            changed = []
            for row in batch:
                if not crypto.primary_key_opens(row.ciphertext):
                    try:
                        row.ciphertext = crypto.rotate(row.ciphertext)
                    except SecretUndecryptable as exc:
                        exc.details = {"owner_id": row.owner_id, "key": row.key}
                        raise
                    changed.append(row)
            # bulk_update leaves updated_at alone: rotation does not change a secret.
            Secret.objects.bulk_update(changed, ["ciphertext"])
            total += len(batch)
            rotated += len(changed)
            last_pk = batch[-1].pk
    audit_record(action=AUDIT_ROTATED, details={"total": total, "rotated": rotated}, source="core")
    logger.info("secrets rotated", extra={"secrets_total": total, "secrets_rotated": rotated})
    return RotationReport(total=total, rotated=rotated)


def _log_context(row: Secret, actor_id: int | None) -> dict[str, Any]:
    # Names and numbers only: a log line never carries a value.
    return {
        "secret_owner": row.owner_id,
        "secret_key": row.key,
        "secret_version": row.version,
        "actor_id": actor_id,
    }


class SecretsService(SecretsApi):
    """The in-process implementation of SecretsApi."""

    def reveal(self, *, owner_id: int, key: str, caller: str) -> SecretValue:
        """See SecretsApi.reveal."""
        # Who really calls: the module of the calling code (in-process) or the calling
        # process's identity (remote), never only what the caller says.
        observed = calling_domain(skip=("domains.core.services",))
        if caller not in REVEAL_CALLERS or observed != caller:
            audit_record(
                action=AUDIT_REFUSED,
                user_id=owner_id,
                target=f"secret:{str(key)[:100]}",
                details={"claimed_caller": str(caller)[:64], "calling_domain": observed},
                source="core",
            )
            logger.warning(
                "secret reveal refused",
                extra={"claimed_caller": caller, "calling_domain": observed, "secret_key": key},
            )
            raise SecretRevealForbidden(
                "only the exchange domain may read plaintext secrets",
                details={"caller": caller, "calling_domain": observed},
            )
        return secret_read(owner_id=owner_id, key=key, reader=caller)

    def list_secrets(self, *, owner_id: int) -> list[SecretInfo]:
        """See SecretsApi.list_secrets."""
        return [serialize_secret(row) for row in secrets_of(owner_id=owner_id)]
