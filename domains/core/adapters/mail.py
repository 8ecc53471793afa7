"""Email through Django's email backend (SMTP, configured by the EMAIL_* settings)."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from domains.core.adapters.delivery_errors import PermanentDeliveryError, TransientDeliveryError


def send_email(*, to: str, subject: str, body: str, headers: dict[str, str]) -> None:
    """Send one plain-text email to ``to``; raises Transient/PermanentDeliveryError.

    SMTP 5xx answers (a refused recipient or sender, failed authentication) are final; 4xx
    answers, a dropped connection and network errors are worth another attempt.
    """
    message = EmailMessage(
        subject=subject or "DSTA notification",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
        connection=get_connection(fail_silently=False),
    )
    try:
        sent = message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        error = f"SMTP refused the recipient (codes {codes})"
        if all(400 <= code < 500 for code in codes):
            raise TransientDeliveryError(error) from exc
        raise PermanentDeliveryError(error) from exc
    except smtplib.SMTPResponseException as exc:
        error = f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
        if 400 <= exc.smtp_code < 500:
            raise TransientDeliveryError(error) from exc
        raise PermanentDeliveryError(error) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"SMTP failed: {type(exc).__name__}: {exc}") from exc
    if sent != 1:
        raise TransientDeliveryError("the email backend reported nothing sent")


def _text(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return text[:200]
