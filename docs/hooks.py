"""MkDocs hook and script: the tables that list tfattr's methods, generated from the registry.

``tfattr.registry`` is the one list of methods, so the methods table of the README and of the
docs, and the methods' API reference page, are generated from it rather than written by hand: a
method added to the registry appears everywhere on the next build.

- In the docs, ``<!-- methods-table -->`` becomes the table (class names link to the API
  reference) and ``<!-- methods-api -->`` one mkdocstrings block per explainer class.
- ``python docs/hooks.py --write`` refreshes the table between the README's
  ``<!-- methods-table:start -->`` and ``<!-- methods-table:end -->`` markers; ``--check`` exits
  with status 1 when it is stale (tests/test_readme.py runs the check).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TABLE = "<!-- methods-table -->"
API = "<!-- methods-api -->"
README_START = "<!-- methods-table:start -->"
README_END = "<!-- methods-table:end -->"


def _registry():
    if str(ROOT) not in sys.path:  # the checkout's tfattr, when built from a source tree
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tfattr.registry")


def _summary(cls) -> str:
    """The first paragraph of the class docstring, as one line of Markdown."""
    text = (inspect.getdoc(cls) or "").split("\n\n")[0]
    text = " ".join(text.split())
    text = re.sub(r"``(.+?)``", r"`\1`", text)
    return text.replace("|", "\\|")


# Methods that reduce channels say so in their docstring: "Returns from ``explain``: ``(N, H, W)``".
_MAP_RETURN = re.compile(r"Returns from ``explain``: ``\(N, H, W\)``")


def _rows():
    """``(class name, module, command-line name, output, opaque models)`` in registry order."""
    registry = _registry()
    opaque = set(registry.opaque_methods())
    cli = {entry.class_name: entry for entry in registry.METHODS.values()}
    rows = []
    for class_name, module in registry.CLASSES.items():
        cls = getattr(importlib.import_module(module), class_name)
        entry = cli.get(class_name)
        if class_name == "Activations":
            output = "`{layer: maps}`"
        elif (entry is not None and entry.cam) or _MAP_RETURN.search(inspect.getdoc(cls) or ""):
            output = "`(N, H, W)`"
        else:
            output = "`(N, H, W, C)`"
        alias_of = cls.__name__ if cls.__name__ != class_name else None
        rows.append(
            {
                "name": class_name,
                "path": f"{cls.__module__}.{cls.__qualname__}",
                "cli": f"`{entry.name}`" if entry is not None else "",
                "summary": f"Same class as `{alias_of}`." if alias_of else _summary(cls),
                "output": output,
                "models": _model_kinds(class_name in opaque or alias_of in opaque, entry, cls),
            }
        )
    return rows


def _model_kinds(opaque: bool, entry, cls) -> str:
    """Which models a method explains (docs/guides/models.md has the matrix as run)."""
    if opaque:
        return "any: Keras, SavedModel, TF-Hub, callable"
    if (entry is not None and entry.cam) or "layer" in getattr(cls, "defaults", {}):
        return "Keras: CNNs; ViTs (tokens as a grid)"
    return "Keras"


def methods_table(links: bool = False) -> str:
    """The methods table in Markdown; ``links`` makes class names links to the API reference."""
    lines = [
        "| class | what it computes | returns | model kinds | `tfattr explain --methods` |",
        "|---|---|---|---|---|",
    ]
    for row in _rows():
        name = f"[`{row['name']}`][{row['path']}]" if links else f"`{row['name']}`"
        lines.append(
            f"| {name} | {row['summary']} | {row['output']} | {row['models']} | {row['cli']} |"
        )
    return "\n".join(lines)


def methods_api() -> str:
    """One mkdocstrings block per explainer class, in registry order (aliases left out)."""
    blocks = []
    for row in _rows():
        if row["path"].rsplit(".", 1)[-1] != row["name"]:
            continue
        blocks.append(f"::: {row['path']}")
    return "\n\n".join(blocks)


class _LayoutNotes(logging.Filter):
    """Shows griffe's notes on docstring layout (an ``Args`` entry wrapped over two lines) as
    INFO: the strict build fails on broken references and links, not on the layout of a
    docstring, which renders as text either way."""

    def filter(self, record):
        if "Failed to get 'name: description' pair" in record.getMessage():
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def on_startup(command, dirty):  # MkDocs hook
    for name in ("griffe", "mkdocs.plugins.griffe", "mkdocs.plugins.mkdocstrings_handlers.python"):
        logging.getLogger(name).addFilter(_LayoutNotes())


def on_page_markdown(markdown, page, config, files):  # MkDocs hook
    if TABLE in markdown:
        markdown = markdown.replace(TABLE, methods_table(links=True))
    if API in markdown:
        markdown = markdown.replace(API, methods_api())
    return markdown


def readme_with_table(text: str) -> str:
    """The README text with the generated table between its markers."""
    start, end = text.index(README_START), text.index(README_END)
    return text[: start + len(README_START)] + "\n" + methods_table() + "\n" + text[end:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="refresh the README's table")
    group.add_argument("--check", action="store_true", help="exit 1 when the table is stale")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    args = parser.parse_args(argv)
    path = pathlib.Path(args.readme)
    text = path.read_text(encoding="utf-8")
    new = readme_with_table(text)
    if args.write:
        path.write_text(new, encoding="utf-8")
        return 0
    if new != text:
        print(f"{path}: the methods table is stale; run python docs/hooks.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
