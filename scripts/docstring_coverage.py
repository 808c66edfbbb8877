"""Which public functions and classes have a Google-style docstring with Args, Returns, Example.

    python scripts/docstring_coverage.py            # summary per module and the names lacking one
    python scripts/docstring_coverage.py --all      # every name with its sections

Public: the names in ``__all__`` of ``tfattr`` and of its public modules (a module without one:
the public functions and classes it defines), and the public methods those classes define
themselves (not the hooks a framework calls, such as a Keras callback's ``on_epoch_end``; for
explainers, ``explain``). ``Args`` is needed where there are parameters (for a class: its
constructor's; a dataclass may list ``Attributes``), ``Returns`` for functions and methods that
return something (the return annotation says, else a ``return`` with a value in the source),
``Example`` everywhere. Exit status 0 whatever the coverage: this reports;
tests/test_docstring_examples.py fails on anything missing and runs every example.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import os
import re
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODULES = (
    "tfattr",
    "tfattr.models",
    "tfattr.targets",
    "tfattr.data",
    "tfattr.viz",
    "tfattr.metrics",
    "tfattr.sanity",
    "tfattr.adversarial",
    "tfattr.callbacks",
    "tfattr.apps.report",
    "tfattr.registry",
    "tfattr.compat.tf_explain.core",
    "tfattr.compat.tf_explain.callbacks",
    "tfattr.apps.evaluate",
)
SECTION = {name: re.compile(rf"^\s*{name}s?:\s*$", re.M) for name in ("Args", "Returns", "Example")}
SECTION["Returns"] = re.compile(r"^\s*(Returns|Yields):|^\s*Returns from ``explain``", re.M)
ATTRIBUTES = re.compile(r"^\s*Attributes:\s*$", re.M)  # a dataclass documents its fields so


def _parameters(obj) -> list[str]:
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return []  # raised by tfattr, not built by users
    if inspect.isclass(obj) and obj.__init__ is object.__init__:
        return []  # built without arguments
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters if p not in ("self", "cls")]


def _returns_something(obj) -> bool:
    """From the return annotation, else from the source: a ``return`` with a value, or a yield."""
    if inspect.isclass(obj):
        return False
    try:
        annotation = inspect.signature(obj).return_annotation
    except (TypeError, ValueError):
        return True
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, "None")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return True
    function = tree.body[0]
    nodes = list(ast.iter_child_nodes(function))
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue  # a nested function's returns are its own
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.Return) and not (
            node.value is None
            or (isinstance(node.value, ast.Constant) and node.value.value is None)
        ):
            return True
        nodes.extend(ast.iter_child_nodes(node))
    return False


def check(obj) -> dict[str, bool | None]:
    """``{section: present}``; None where the section is not needed."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and obj.__init__ is not object.__init__:
        init_doc = inspect.getdoc(obj.__init__) or ""
        if init_doc != inspect.getdoc(object.__init__):
            doc += "\n" + init_doc
    args = SECTION["Args"].search(doc) or (inspect.isclass(obj) and ATTRIBUTES.search(doc))
    return {
        "Args": bool(args) if _parameters(obj) else None,
        "Returns": bool(SECTION["Returns"].search(doc)) if _returns_something(obj) else None,
        "Example": bool(SECTION["Example"].search(doc)),
    }


def _public_names(module) -> list[str]:
    """``__all__``, or else the public functions and classes the module defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__
    ]


def _framework_hook(cls, attr: str) -> bool:
    """Whether ``cls.attr`` overrides a method of a base class from outside tfattr."""
    return any(
        attr in vars(base) and not base.__module__.startswith("tfattr")
        for base in cls.__mro__[1:]
        if base is not object
    )


def public_objects():
    """``(qualified name, object)`` of every public function, class and class method."""
    from tfattr.core.explainer import Explainer

    seen = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            obj = getattr(module, name)

            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj
            if inspect.isclass(obj):
                explainer = issubclass(obj, Explainer)
                for attr, value in vars(obj).items():
                    if attr.startswith("_") or not inspect.isfunction(value):
                        continue
                    if _framework_hook(obj, attr):
                        continue  # Keras calls it (on_epoch_end, set_model): Keras documents it

                    if explainer and attr != "explain":
                        continue  # the hooks a method implements (plan, attribute, ...)
                    yield f"{module_name}.{name}.{attr}", value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    totals = {key: [0, 0] for key in SECTION}
    missing = []
    for name, obj in public_objects():
        result = check(obj)
        lacking = [key for key, ok in result.items() if ok is False]
        for key, ok in result.items():
            if ok is not None:
                totals[key][0] += ok
                totals[key][1] += 1
        if args.all or lacking:
            missing.append(f"{name}: lacks {', '.join(lacking)}" if lacking else f"{name}: ok")
    print("\n".join(missing))
    print("coverage: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in totals.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
