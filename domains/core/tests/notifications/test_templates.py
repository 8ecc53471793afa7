"""Templates: sandboxed Django syntax, variables found at save time, exact variables to send."""

from collections.abc import Callable
from typing import Any

import pytest

from domains.core.api import (
    NotificationTemplateExists,
    NotificationTemplateInvalid,
    NotificationTemplateNotFound,
    NotificationTemplateVariablesInvalid,
)
from domains.core.services.notification_templates import (
    render_template,
    template_create,
    template_variables,
    template_visible,
)
from domains.core.services.notifications import notification_send

pytestmark = pytest.mark.django_db


def test_variables_are_the_top_level_names_outside_loop_and_with_scopes() -> None:
    found = template_variables(
        subject="{{ side|upper }} {{ symbol }}",
        body=(
            "{% if pnl > limit and not muted %}{{ pnl|floatformat:2 }}{% endif %}"
            "{% for fill in fills %}{{ fill.price }} #{{ forloop.counter }}{% empty %}none"
            "{% endfor %}{% with total=grand.total %}{{ total }}{% endwith %}"
            "{{ missing|default:fallback }}{% comment %}{{ ignored }}{% endcomment %}"
        ),
    )
    assert found == [
        "fallback",
        "fills",
        "grand",
        "limit",
        "missing",
        "muted",
        "pnl",
        "side",
        "symbol",
    ]


@pytest.mark.parametrize(
    "body",
    [
        "{% load static %}",
        "{% include 'x.html' %}",
        "{% extends 'base.html' %}",
        "{% debug %}",
        "{% url 'admin:index' %}",
        "{% csrf_token %}",
        "{{ x|center:'99999999' }}",
        "{{ x|stringformat:'999999999d' }}",
        "{{ x|truncatechars:'9999999' }}",
        "{{ x|safe }}",
        "{% if %}",
        "{{ x|unknown_filter }}",
        "{% for x in %}{% endfor %}",
        "{% endif %}",
    ],
)
def test_unsafe_or_broken_templates_are_refused(body: str) -> None:
    with pytest.raises(NotificationTemplateInvalid):
        template_variables(subject="", body=body)


def test_rendering_is_plain_text_and_needs_exactly_the_variables() -> None:
    subject, body = render_template(
        subject="Fill   on\n{{ symbol }}",
        body="<b>{{ price }}</b> & {{ note }}",
        variables={"symbol": "BTC/USDT", "price": 64000, "note": "'quoted'"},
        expected=["note", "price", "symbol"],
    )
    assert subject == "Fill on BTC/USDT"  # one line
    assert body == "<b>64000</b> & 'quoted'"  # no HTML escaping
    with pytest.raises(NotificationTemplateVariablesInvalid) as wrong:
        render_template(
            subject="", body="{{ a }}{{ b }}", variables={"a": 1, "c": 2}, expected=["a", "b"]
        )
    assert wrong.value.details == {"missing": ["b"], "unknown": ["c"]}


def test_own_templates_win_over_shared_ones(make_user: Callable[..., Any]) -> None:
    alice, bob = make_user(), make_user()
    template_create(owner_id=None, name="fill", subject="shared", body="{{ x }}")
    template_create(owner_id=alice.pk, name="fill", subject="alice's", body="{{ y }}")
    assert template_visible(owner_id=alice.pk, name="fill").subject == "alice's"
    assert template_visible(owner_id=bob.pk, name="fill").subject == "shared"
    with pytest.raises(NotificationTemplateExists):
        template_create(owner_id=alice.pk, name="fill", subject="", body="again")
    with pytest.raises(NotificationTemplateNotFound):
        template_visible(owner_id=bob.pk, name="nothing")
    sent = notification_send(
        owner_id=bob.pk, template="fill", variables={"x": "42"}, channels=[], dispatch=False
    ).notification
    assert (sent.subject, sent.body, sent.template_name) == ("shared", "42", "fill")
