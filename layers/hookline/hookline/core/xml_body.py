"""The `xml` body format's parser (core/envelope.py's `parse_body` documents the result and its limits).

A module of its own so that only XML bodies load it: xmltodict (with xml.sax) and defusedxml were ~2 ms
of every ingress cold start, JSON sources included. Parsing is defused: entity declarations (billion
laughs, XXE), external DTDs and external references are refused, never expanded or fetched; a bare
`<!DOCTYPE root>` is allowed; depth and element count are bounded.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from xml.parsers import expat

import xmltodict
from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden


class XmlRefused(Exception):
    """The body is not XML that is accepted; the message is the whole answer (envelope.BodyParseError's)."""


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
    # A DOCTYPE that only names the root is harmless; an internal subset is where entities live.
    if sysid or pubid:
        raise DTDForbidden(name, sysid, pubid)


def _forbid_entity_decl(name: str, is_parameter_entity: bool, value: str | None, base: str | None,
                        sysid: str | None, pubid: str | None, notation_name: str | None) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _forbid_unparsed_entity(name: str, base: str | None, sysid: str | None, pubid: str | None,
                            notation_name: str | None) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _forbid_external_ref(context: str, base: str | None, sysid: str | None, pubid: str | None) -> None:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


class _XmlTooLarge(Exception):
    pass


class _BoundedParser:
    """An expat parser whose element handlers count depth and elements (xmltodict sets the handlers)."""

    def __init__(self, parser: Any, max_depth: int, max_elements: int) -> None:
        object.__setattr__(self, "_parser", parser)
        object.__setattr__(self, "_depth", 0)
        object.__setattr__(self, "_elements", 0)
        object.__setattr__(self, "_max_depth", max_depth)
        object.__setattr__(self, "_max_elements", max_elements)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "StartElementHandler":
            value = self._counting_start(value)
        elif name == "EndElementHandler":
            value = self._counting_end(value)
        setattr(self._parser, name, value)

    def _counting_start(self, handler: Any) -> Any:
        def start(*args: Any) -> Any:
            depth, elements = self._depth + 1, self._elements + 1
            if depth > self._max_depth:
                raise _XmlTooLarge(f"elements nested deeper than {self._max_depth} levels")
            if elements > self._max_elements:
                raise _XmlTooLarge(f"more than {self._max_elements} elements")
            object.__setattr__(self, "_depth", depth)
            object.__setattr__(self, "_elements", elements)
            return handler(*args)
        return start

    def _counting_end(self, handler: Any) -> Any:
        def end(*args: Any) -> Any:
            object.__setattr__(self, "_depth", self._depth - 1)
            return handler(*args)
        return end


def _safe_expat(max_depth: int, max_elements: int) -> SimpleNamespace:
    """xmltodict takes the expat module as a parameter: one whose parsers have the defusedxml protections
    (no entities, no external references) and are bounded in depth and element count."""
    def parser_create(*args: Any, **kwargs: Any) -> Any:
        parser = expat.ParserCreate(*args, **kwargs)
        parser.StartDoctypeDeclHandler = _forbid_dtd
        parser.EntityDeclHandler = _forbid_entity_decl
        parser.UnparsedEntityDeclHandler = _forbid_unparsed_entity
        parser.ExternalEntityRefHandler = _forbid_external_ref
        return _BoundedParser(parser, max_depth, max_elements)

    return SimpleNamespace(ParserCreate=parser_create, ExpatError=expat.ExpatError)


def parse_xml(raw: bytes, *, max_depth: int, max_elements: int) -> Any:
    """`raw` as xmltodict's dict; XmlRefused (with the answer's message) when it is not accepted."""
    try:
        # disable_entities=True is xmltodict's own guard; the defused parser adds the rest.
        return xmltodict.parse(raw, expat=_safe_expat(max_depth, max_elements), disable_entities=True)
    except _XmlTooLarge as e:
        raise XmlRefused(f"body is not accepted as XML: {e}; send a flatter or smaller document") from None
    except EntitiesForbidden as e:
        raise XmlRefused(f"body is not accepted as XML: entity declarations are not allowed "
                         f"(entity {e.name!r})") from None
    except ExternalReferenceForbidden:
        raise XmlRefused("body is not accepted as XML: external references are not allowed") from None
    except DTDForbidden:
        raise XmlRefused("body is not accepted as XML: external DTDs are not allowed") from None
    except expat.ExpatError as e:
        raise XmlRefused(f"body is not valid XML: {expat.ErrorString(e.code)} "
                         f"at line {e.lineno} column {e.offset + 1}") from None
    except ValueError:  # xmltodict's own entity guard, which replaces ours for entity declarations
        raise XmlRefused("body is not accepted as XML: entity declarations are not allowed") from None
