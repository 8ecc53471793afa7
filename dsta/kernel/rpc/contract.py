"""A service's wire contract, read from its api Protocol.

The Protocol's method signatures are the contract: keyword-only, fully typed parameters and a
typed return value. From those type hints each method gets two pydantic ``TypeAdapter`` codecs,
one for its keyword arguments (a TypedDict that forbids extra keys) and one for its
``{"result": ...}`` envelope, so both ends of the wire encode and decode with the same code.
No Django here: this module is pure.
"""

import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, NotRequired, Required

import pydantic
from pydantic import ConfigDict, TypeAdapter
from pydantic.errors import PydanticSchemaGenerationError
from pydantic_core import PydanticSerializationError
from typing_extensions import TypedDict

from dsta.kernel.rpc.errors import BadArguments, RpcError

# "<domain>.<service>": the domain part picks the remote URL from settings.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_TYPING_BASES = (object, typing.Protocol, typing.Generic)
# TypedDict's functional form with computed names and fields, which type checkers cannot follow;
# typing_extensions' version because pydantic needs it before Python 3.12.
_typed_dict: Any = TypedDict


def _validation_details(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """pydantic's error list, JSON-safe, without echoing the (possibly secret) input."""
    details: list[dict[str, Any]] = json.loads(exc.json(include_url=False, include_input=False))
    return details


class MethodSpec:
    """One Protocol method: its signature and the codecs derived from its type hints."""

    def __init__(self, service: str, function: Callable[..., Any]) -> None:
        self.service = service
        self.name = function.__name__
        full = inspect.signature(function)
        # Without ``self``: this is the signature a caller binds its keyword arguments to.
        self.signature = full.replace(parameters=list(full.parameters.values())[1:])
        self._function = function

    def __repr__(self) -> str:
        return f"<MethodSpec {self.service}.{self.name}{self.signature}>"

    @cached_property
    def _codecs(self) -> tuple[TypeAdapter[Any], TypeAdapter[Any]]:
        where = f"{self.service}.{self.name}"
        try:
            hints = typing.get_type_hints(self._function, include_extras=True)
        except Exception as exc:  # a NameError or TypeError from a bad annotation
            raise TypeError(f"{where}: cannot read the type hints: {exc}") from exc
        fields: dict[str, Any] = {
            name: (Required if param.default is inspect.Parameter.empty else NotRequired)[
                hints[name]
            ]
            for name, param in self.signature.parameters.items()
        }
        arguments = _typed_dict(f"{self.name}_arguments", fields)
        # Unknown keyword arguments are an error, as they are for a Python call.
        arguments.__pydantic_config__ = ConfigDict(extra="forbid")
        envelope = _typed_dict(f"{self.name}_result", {"result": Required[hints["return"]]})
        try:
            return TypeAdapter(arguments), TypeAdapter(envelope)
        except PydanticSchemaGenerationError as exc:
            raise TypeError(f"{where}: a type cannot cross the wire: {exc}") from exc

    def prepare(self) -> None:
        """Build the codecs now, so a type that cannot be serialized fails at startup."""
        _ = self._codecs

    def encode_arguments(self, kwargs: Mapping[str, Any]) -> bytes:
        """Caller side: check ``kwargs`` like a Python call would, then encode them as JSON."""
        self.signature.bind(**kwargs)  # TypeError for a missing or unexpected argument
        arguments, _ = self._codecs
        try:
            return arguments.dump_json(arguments.validate_python(dict(kwargs)))
        except pydantic.ValidationError as exc:
            raise BadArguments(
                f"arguments do not match {self.service}.{self.name}",
                details=_validation_details(exc),
            ) from exc

    def decode_arguments(self, raw: bytes) -> dict[str, Any]:
        """Server side: parse and validate the JSON object of keyword arguments."""
        arguments, _ = self._codecs
        try:
            decoded: dict[str, Any] = arguments.validate_json(raw or b"{}")
        except pydantic.ValidationError as exc:
            raise BadArguments(
                f"arguments do not match {self.service}.{self.name}",
                details=_validation_details(exc),
            ) from exc
        return decoded

    def encode_result(self, value: Any) -> bytes:
        """Server side: ``{"result": value}`` as JSON; a value of the wrong type is a bug."""
        _, envelope = self._codecs
        try:
            return envelope.dump_json({"result": value}, warnings="error")
        except PydanticSerializationError as exc:
            raise TypeError(
                f"{self.service}.{self.name} returned a value that does not match its "
                f"declared return type: {exc}"
            ) from exc

    def decode_result(self, raw: bytes) -> Any:
        """Caller side: the typed value out of a ``{"result": ...}`` response body."""
        _, envelope = self._codecs
        try:
            return envelope.validate_json(raw)["result"]
        except pydantic.ValidationError as exc:
            raise RpcError(
                f"the remote result of {self.service}.{self.name} does not match the contract",
                details=_validation_details(exc),
            ) from exc


class ServiceSpec:
    """A registered api Protocol: its name, its domain and its public methods."""

    def __init__(self, name: str, api: type) -> None:
        if not SERVICE_NAME.match(name):
            raise ValueError(f"service name {name!r} is not '<domain>.<service>' in snake_case")
        if not getattr(api, "_is_protocol", False):
            raise TypeError(f"{api.__qualname__} must be a typing.Protocol to be an rpc service")
        self.name = name
        self.domain = name.split(".", 1)[0]
        self.api = api
        self.methods: dict[str, MethodSpec] = {
            method_name: MethodSpec(name, function)
            for method_name, function in _declared_methods(api).items()
        }

    def __repr__(self) -> str:
        return f"<ServiceSpec {self.name} {self.api.__module__}.{self.api.__qualname__}>"

    def prepare(self) -> None:
        """Build every method's codecs (resolves the type hints)."""
        for method in self.methods.values():
            method.prepare()


def _declared_methods(api: type) -> dict[str, Callable[..., Any]]:
    """The public methods declared on ``api`` and its Protocol bases, shape-checked."""
    methods: dict[str, Callable[..., Any]] = {}
    for klass in reversed(api.__mro__):
        if klass in _TYPING_BASES or not getattr(klass, "_is_protocol", False):
            continue
        for attribute in inspect.get_annotations(klass):
            if not attribute.startswith("_"):
                raise TypeError(
                    f"{api.__qualname__}.{attribute}: an rpc api declares methods, not attributes"
                )
        for member_name, member in vars(klass).items():
            if member_name.startswith("_"):
                continue  # private names are never callable over the wire
            if not inspect.isfunction(member):
                raise TypeError(
                    f"{api.__qualname__}.{member_name}: only plain methods can be rpc methods"
                )
            _check_shape(api, member)
            methods[member_name] = member
    return methods


def _check_shape(api: type, function: Callable[..., Any]) -> None:
    """Keyword-only, fully annotated: the type hints are the wire contract."""
    where = f"{api.__qualname__}.{function.__name__}"
    parameters = list(inspect.signature(function).parameters.values())
    if not parameters or parameters[0].kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
        raise TypeError(f"{where}: the first parameter must be self")
    for param in parameters[1:]:
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{where}: parameter {param.name!r} must be keyword-only (after *)")
        if param.annotation is inspect.Parameter.empty:
            raise TypeError(f"{where}: parameter {param.name!r} needs a type annotation")
    if inspect.signature(function).return_annotation is inspect.Signature.empty:
        raise TypeError(f"{where}: the return type must be annotated (use -> None)")
