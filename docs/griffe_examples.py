"""Griffe extension: Keras-style ``Example:`` sections read as Google-style ``Examples:``.

tfattr's docstrings title their examples ``Example:``, as Keras does. Griffe's Google parser
knows that title only as an admonition, which renders ``>>>`` lines as quoted prose; read as an
``Examples:`` section they render as Python code.
"""

from __future__ import annotations

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)


class ExampleSections(griffe.Extension):
    """Renames ``Example:`` section titles to ``Examples:`` before docstrings are parsed."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
