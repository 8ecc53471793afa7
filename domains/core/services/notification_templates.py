"""Notification templates: compile, check, store and render subject/body templates.

Templates are Django template syntax on plain strings, with autoescape off (the text goes to
SMTP, Telegram and JSON, not to HTML). Users write them, so they are sandboxed: no loaders,
no libraries, and only the tags below; anything else (``include``, ``load``, ``debug``,
``extends``, ``url``...) is refused when the template is saved. The top-level variables a
template needs are found then too, and a send must give exactly those: a missing or an
unknown variable is a 400, never a half-rendered message.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, TextNode, Variable, VariableNode
from django.template.defaulttags import (
    CommentNode,
    FilterNode,
    FirstOfNode,
    ForNode,
    IfNode,
    NowNode,
    SpacelessNode,
    TemplateLiteral,
    TemplateTagNode,
    VerbatimNode,
    WithNode,
)

from domains.core.api import (
    BODY_MAX_CHARS,
    NOTIFICATION_NAME_PATTERN,
    SUBJECT_MAX_CHARS,
    NotificationTemplateExists,
    NotificationTemplateInvalid,
    NotificationTemplateNotFound,
    NotificationTemplateVariablesInvalid,
)
from domains.core.models import NotificationTemplate

TEMPLATE_MAX_CHARS = 10_000
DESCRIPTION_MAX_CHARS = 300
_ALLOWED_NODES: tuple[type[Node], ...] = (
    TextNode,
    VariableNode,
    IfNode,
    ForNode,
    WithNode,
    CommentNode,
    FilterNode,
    FirstOfNode,
    NowNode,
    SpacelessNode,
    TemplateTagNode,
    VerbatimNode,
)

# Filters that only format values; padding (center, ljust, rjust), stringformat and the
# HTML/URL-building ones are left out.
_ALLOWED_FILTERS = frozenset(
    {
        "add",
        "capfirst",
        "cut",
        "date",
        "default",
        "default_if_none",
        "divisibleby",
        "first",
        "floatformat",
        "join",
        "last",
        "length",
        "lower",
        "pluralize",
        "slice",
        "time",
        "timesince",
        "timeuntil",
        "title",
        "truncatechars",
        "truncatewords",
        "upper",
        "wordcount",
        "yesno",
    }
)
FILTER_ARGUMENT_LIMIT = 1000


@cache
def _engine() -> Engine:
    # No loaders that could read files, no libraries; builtin filters and tags only.
    return Engine(
        autoescape=False,
        loaders=[("django.template.loaders.locmem.Loader", {})],
        libraries={},
        string_if_invalid="",
    )


def _compile(text: str, part: str) -> Any:
    try:
        return _engine().from_string(text)
    except TemplateSyntaxError as exc:
        raise NotificationTemplateInvalid(
            f"the {part} is not a valid template: {exc}", details={"field": part}
        ) from exc


def template_variables(*, subject: str, body: str) -> list[str]:
    """The top-level variable names ``subject`` and ``body`` use, sorted; raises
    NotificationTemplateInvalid for a syntax error or a tag that is not allowed."""
    names: set[str] = set()
    for part, text in (("subject", subject), ("body", body)):
        template = _compile(text, part)
        names |= _variables_of(template.nodelist, bound=frozenset({"forloop"}), part=part)
    return sorted(names)


def _variables_of(nodes: NodeList | Iterable[Any], *, bound: frozenset[str], part: str) -> set[str]:
    found: set[str] = set()
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            token = getattr(node, "token", None)
            tag = token.contents.split()[0] if token is not None and token.contents else "?"
            raise NotificationTemplateInvalid(
                f"the {part} uses the tag {tag!r}, which notification templates do not allow",
                details={"field": part, "tag": tag},
            )
        if isinstance(node, VariableNode):
            found |= _names_in(node.filter_expression)
        elif isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                found |= _names_in_condition(condition)
                found |= _variables_of(branch, bound=bound, part=part)
        elif isinstance(node, ForNode):
            found |= _names_in(node.sequence)
            inner = bound | set(node.loopvars)
            found |= _variables_of(node.nodelist_loop, bound=inner, part=part)
            found |= _variables_of(node.nodelist_empty, bound=bound, part=part)
        elif isinstance(node, WithNode):
            for expression in node.extra_context.values():
                found |= _names_in(expression)
            inner = bound | set(node.extra_context)
            found |= _variables_of(node.nodelist, bound=inner, part=part)
        elif isinstance(node, FilterNode):
            found |= _names_in(node.filter_expr)
            found |= _variables_of(node.nodelist, bound=bound, part=part)
        elif isinstance(node, FirstOfNode):
            for expression in node.vars:
                found |= _names_in(expression)
        elif isinstance(node, SpacelessNode):
            found |= _variables_of(node.nodelist, bound=bound, part=part)
    return found - bound


def _names_in(expression: Any) -> set[str]:
    if not isinstance(expression, FilterExpression):
        return set()
    names = _name_of(expression.var)
    for function, arguments in expression.filters:
        name = getattr(function, "_filter_name", getattr(function, "__name__", "?"))
        if name not in _ALLOWED_FILTERS:
            raise NotificationTemplateInvalid(
                f"the filter {name!r} is not allowed in notification templates",
                details={"filter": name, "allowed": sorted(_ALLOWED_FILTERS)},
            )
        for is_lookup, argument in arguments:
            if is_lookup:
                names |= _name_of(argument)
            elif _too_large(argument):
                raise NotificationTemplateInvalid(
                    f"the argument of the filter {name!r} is too large",
                    details={"filter": name, "limit": FILTER_ARGUMENT_LIMIT},
                )
    return names


def _too_large(argument: Any) -> bool:
    # Padding and precision arguments in the millions would build huge strings.
    text = str(argument).strip().lstrip(":-")
    return text.isdigit() and int(text) > FILTER_ARGUMENT_LIMIT


def _name_of(variable: Any) -> set[str]:
    if isinstance(variable, Variable) and variable.lookups:
        return {variable.lookups[0]}
    return set()


def _names_in_condition(condition: Any) -> set[str]:
    if condition is None:
        return set()
    if isinstance(condition, TemplateLiteral):
        return _names_in(condition.value)
    names = set()
    for side in ("first", "second"):
        names |= _names_in_condition(getattr(condition, side, None))
    return names


def render_template(
    *, subject: str, body: str, variables: dict[str, Any], expected: Iterable[str]
) -> tuple[str, str]:
    """The rendered ``(subject, body)``. ``variables`` must name exactly ``expected`` (the
    names found when the template was saved), else NotificationTemplateVariablesInvalid."""
    expected_names = set(expected)
    missing = sorted(expected_names - set(variables))
    unknown = sorted(set(variables) - expected_names)
    if missing or unknown:
        raise NotificationTemplateVariablesInvalid(
            "the variables do not match the template"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not used by the template: {', '.join(unknown)}" if unknown else ""),
            details={"missing": missing, "unknown": unknown},
        )
    context = Context(variables, autoescape=False)
    try:
        rendered_subject = _compile(subject, "subject").render(context)
        rendered_body = _compile(body, "body").render(context)
    except (TypeError, ValueError, ArithmeticError) as exc:
        # A builtin filter given a value it cannot take (|date on a number...).
        raise NotificationTemplateVariablesInvalid(
            f"the template cannot be rendered with these variables: {exc}"
        ) from exc
    # One line of subject, bounded sizes: the channels have limits of their own.
    rendered_subject = " ".join(rendered_subject.split())[:SUBJECT_MAX_CHARS]
    return rendered_subject, rendered_body[:BODY_MAX_CHARS]


@dataclass(frozen=True)
class TemplateDraft:
    """A checked template, ready to store."""

    name: str
    subject: str
    body: str
    description: str
    variables: list[str]


def template_check(*, name: Any, subject: Any, body: Any, description: Any = "") -> TemplateDraft:
    """Validate a template (name, sizes, syntax, allowed tags) and find its variables."""
    problems = []
    if not isinstance(name, str) or not NOTIFICATION_NAME_PATTERN.match(name):
        problems.append("name: lower-case letters, digits, '_', '.', '-'; at most 64")
    if not isinstance(subject, str) or len(subject) > SUBJECT_MAX_CHARS:
        problems.append(f"subject: a string of at most {SUBJECT_MAX_CHARS} characters")
    if not isinstance(body, str) or not body.strip() or len(body) > TEMPLATE_MAX_CHARS:
        problems.append(f"body: a non-empty string of at most {TEMPLATE_MAX_CHARS} characters")
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_CHARS:
        problems.append(f"description: a string of at most {DESCRIPTION_MAX_CHARS} characters")
    if problems:
        raise NotificationTemplateInvalid("the template is invalid", details={"problems": problems})
    variables = template_variables(subject=subject, body=body)
    return TemplateDraft(
        name=name, subject=subject, body=body, description=description, variables=variables
    )


def template_create(
    *, owner_id: int | None, name: Any, subject: Any, body: Any, description: Any = ""
) -> NotificationTemplate:
    """Store a new template (``owner_id`` None: shared); NotificationTemplateExists if the
    owner already has one of that name."""
    draft = template_check(name=name, subject=subject, body=body, description=description)
    try:
        with transaction.atomic():
            return NotificationTemplate.objects.create(
                owner_id=owner_id,
                name=draft.name,
                subject=draft.subject,
                body=draft.body,
                description=draft.description,
                variables=draft.variables,
            )
    except IntegrityError as exc:
        raise NotificationTemplateExists(
            f"a template named {draft.name!r} already exists", details={"name": draft.name}
        ) from exc


def template_replace(
    *, owner_id: int | None, name: str, subject: Any, body: Any, description: Any = ""
) -> NotificationTemplate:
    """Replace the owner's template ``name`` (NotificationTemplateNotFound if none)."""
    draft = template_check(name=name, subject=subject, body=body, description=description)
    with transaction.atomic():
        row = (
            NotificationTemplate.objects.select_for_update()
            .filter(owner_id=owner_id, name=name)
            .first()
        )
        if row is None:
            raise NotificationTemplateNotFound(f"no template {name!r}", details={"name": name})
        row.subject, row.body, row.description = draft.subject, draft.body, draft.description
        row.variables = draft.variables
        row.save()
        return row


def template_delete(*, owner_id: int | None, name: str) -> None:
    """Delete the owner's template ``name`` (NotificationTemplateNotFound if none)."""
    deleted, _ = NotificationTemplate.objects.filter(owner_id=owner_id, name=name).delete()
    if not deleted:
        raise NotificationTemplateNotFound(f"no template {name!r}", details={"name": name})


def template_visible(*, owner_id: int, name: str) -> NotificationTemplate:
    """The template ``name`` as ``owner_id`` sees it: their own, else the shared one."""
    rows = NotificationTemplate.objects.filter(
        Q(owner_id=owner_id) | Q(owner__isnull=True), name=name
    )
    # Own before shared: NULL owners sort after a real id either way round, so pick by hand.
    found = sorted(rows, key=lambda row: row.owner_id is None)
    if not found:
        raise NotificationTemplateNotFound(f"no template {name!r}", details={"name": name})
    return found[0]


def templates_visible(*, owner_id: int) -> list[NotificationTemplate]:
    """The user's own templates and the shared ones, by name (own first for equal names)."""
    rows = NotificationTemplate.objects.filter(Q(owner_id=owner_id) | Q(owner__isnull=True))
    return sorted(rows, key=lambda row: (row.name, row.owner_id is None))
