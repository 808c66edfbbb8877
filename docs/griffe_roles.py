"""Griffe extension: Sphinx roles in docstrings become links of the API reference.

tfattr's docstrings name other objects with Sphinx roles (``:func:`load```,
``:class:`~tfattr.core.adapter.ModelAdapter```), which Markdown shows as raw text. Once the
package is loaded, each role is resolved the way Python would resolve the name from the
docstring's object (its members, its parents, its module's imports, or a full dotted path) and
replaced by an mkdocstrings cross-reference to the object's canonical path, which every rendered
object registers whatever page or alias renders it.

The cross-references are optional: a name that resolves to an object the site does not render
(an internal helper) shows as code rather than failing ``mkdocs build --strict``, and so does a
name that does not resolve at all (a builtin such as ``ValueError``). Only the text given to the
renderer changes; the docstrings in the source stay as written.
"""

from __future__ import annotations

import html
import importlib
import inspect
import logging
import re

import griffe

_log = logging.getLogger("griffe.roles")

# :role:`target`, :role:`~target` (short title) and :role:`title <target>`; Sphinx's domain
# prefix (:py:func:) is accepted too.
_ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|meth|attr|mod|data|obj|exc|const):"
    r"`(?P<body>[^`<>]+?|[^`<>]*<[^`<>]+>)`"
)
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")


def _lookup(obj: griffe.Object, name: str, collection) -> griffe.Object | griffe.Alias | None:
    """The object ``name`` designates in the scope of ``obj``, or None."""
    first, _, rest = name.partition(".")
    candidates = []
    try:
        head = obj.resolve(first)
    except griffe.NameResolutionError:
        pass
    else:
        candidates.append(f"{head}.{rest}" if rest else head)
    candidates.append(name)  # a full dotted path
    for path in candidates:
        try:
            return collection[path]
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
    return None


def _runtime(obj: griffe.Object, name: str, collection) -> str | None:
    """The path of the object ``name`` designates at run time, or None.

    Covers what static analysis cannot see: names a module creates at import time (``tfattr``
    exports its explainer classes from the method registry) and inherited methods.
    """
    scopes = []
    scope = obj
    while scope is not None:
        scopes.append(scope.path)
        scope = scope.parent
    for base in [*scopes, ""]:  # the docstring's scopes, innermost first, then a full path
        value = _import_path(f"{base}.{name}" if base else name)
        if value is None:
            continue
        if inspect.ismodule(value):
            return value.__name__
        module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
        if module and qualname and "<" not in qualname:
            return f"{module}.{qualname}"
        found = _lookup(obj, f"{base}.{name}" if base else name, collection)  # a constant
        return _canonical(found) if found is not None else None
    return None


def _import_path(path: str):
    """The object at dotted ``path`` (a module, then attributes), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # not a module, or one that cannot be imported here
            continue
        try:
            for attribute in parts[cut:]:
                value = getattr(value, attribute)
        except AttributeError:
            return None
        return value
    return None


def _canonical(found: griffe.Object | griffe.Alias) -> str | None:
    try:
        return found.canonical_path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None  # an alias of an object outside the loaded packages


def rewrite_roles(text: str, obj: griffe.Object, collection) -> str:
    """``text`` with every Sphinx role replaced by a Markdown cross-reference or code."""

    def replace(match: re.Match) -> str:
        body = match["body"].strip()
        explicit = _EXPLICIT.match(body)
        if explicit and explicit["title"]:
            title, target = explicit["title"], explicit["target"].strip()
        else:
            target = body.strip("<>").strip()
            short = target.startswith("~")
            target = target.lstrip("~").lstrip(".")
            title = target.rsplit(".", 1)[-1] if short else target
        target = target.lstrip("~").lstrip(".").removesuffix("()")
        found = _lookup(obj, target, collection)
        path = _canonical(found) if found is not None else None
        if path is None:
            path = _runtime(obj, target, collection)
        if path is None:
            _log.debug("%s: %s renders as code (no object of this name)", obj.path, match[0])
            return f"`{title}`"
        return (
            f'<autoref identifier="{html.escape(path)}" optional>'
            f"<code>{html.escape(title)}</code></autoref>"
        )

    return _ROLE.sub(replace, text)


def _objects(obj: griffe.Object):
    """``obj`` and every object defined under it (imported names are visited where defined)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


class SphinxRoles(griffe.Extension):
    """Rewrites Sphinx roles in the docstrings of a loaded package into cross-references."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        for obj in _objects(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite_roles(
                    obj.docstring.value, obj, loader.modules_collection
                )
