"""The docs site: API pages show exactly the public names, and Sphinx roles in docstrings become
cross-references (docs/griffe_roles.py) rather than raw text.

The site test builds the docs once with ``mkdocs build --strict`` (skipped where the ``docs``
extra is not installed) and reads the generated HTML.
"""

import importlib
import inspect
import pathlib
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
ROLE_TEXT = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):")
HEADING = re.compile(r'<h\d id="([\w.]+)" class="doc doc-heading')


def _load_with_roles(tmp_path, files):
    griffe = pytest.importorskip("griffe")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    extensions = griffe.load_extensions(str(ROOT / "docs" / "griffe_roles.py"))
    loader = griffe.GriffeLoader(search_paths=[str(tmp_path)], extensions=extensions)
    loader.load("rolepkg")
    return loader.modules_collection


def test_roles_become_optional_references_to_canonical_paths(tmp_path):
    collection = _load_with_roles(
        tmp_path,
        {
            "rolepkg/__init__.py": '"""See :class:`~rolepkg.core.Thing` and :mod:`rolepkg.core`."""\n'
            "from rolepkg.core import Thing\n",
            "rolepkg/core.py": "class Thing:\n"
            '    """Made by :func:`make`; :meth:`run` runs it; :class:`ValueError` on bad input;\n'
            '    :func:`the maker <rolepkg.core.make>`; :py:func:`.make`."""\n'
            "    def run(self):\n        pass\n\n"
            'def make():\n    """A :class:`rolepkg.Thing` (re-exported)."""\n',
        },
    )

    def ref(path, title):
        return f'<autoref identifier="{path}" optional><code>{title}</code></autoref>'

    package = collection["rolepkg"].docstring.value
    assert (
        package
        == f"See {ref('rolepkg.core.Thing', 'Thing')} and {ref('rolepkg.core', 'rolepkg.core')}."
    )
    thing = collection["rolepkg.core.Thing"].docstring.value
    assert ref("rolepkg.core.make", "make") in thing  # a name of the docstring's module
    assert ref("rolepkg.core.Thing.run", "run") in thing  # a member of the documented class
    assert ref("rolepkg.core.make", "the maker") in thing  # an explicit title
    assert ref("rolepkg.core.make", ".make") not in thing and thing.endswith(
        f"{ref('rolepkg.core.make', 'make')}."
    )
    assert "`ValueError`" in thing  # no object of this name in the package: code, no reference
    # An alias (a re-export) points at the object's canonical path, which its page registers.
    assert (
        ref("rolepkg.core.Thing", "rolepkg.Thing")
        in collection["rolepkg.core.make"].docstring.value
    )
    assert not ROLE_TEXT.search(package + thing)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    env = {"NO_MKDOCS_2_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**__import__("os").environ, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def _page(site, md):
    return (site / "api" / ("" if md.stem == "index" else md.stem) / "index.html").read_text()


def _public(module):
    """The names a module documents: its ``__all__``, or what it defines without a leading _."""
    if hasattr(module, "__all__"):
        return set(module.__all__)
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }


def test_api_pages_render_exactly_the_public_names(site):
    checked = 0
    for md in sorted(API.glob("*.md")):
        blocks = re.findall(r"^::: ([\w.]+)", md.read_text(), re.M)
        ids = set(HEADING.findall(_page(site, md)))
        for target in blocks:
            try:
                module = importlib.import_module(target)
            except ImportError:
                continue  # a class or function block
            own_blocks = {b[len(target) + 1 :] for b in blocks}  # submodules with a block
            public = _public(module) - own_blocks
            shown = {i[len(target) + 1 :] for i in ids if i.rpartition(".")[0] == target}
            shown -= own_blocks
            assert shown <= public, f"{md.name}: {target} shows non-public {shown - public}"
            # What is left out is data without a docstring, which mkdocstrings does not render.
            for name in public - shown:
                value = getattr(module, name)
                assert not (inspect.isclass(value) or inspect.isroutine(value)) or any(
                    i.endswith(f".{name}") for i in ids
                ), f"{md.name}: {target}.{name} is public but not rendered"
            checked += 1
    assert checked >= 10


def test_roles_render_as_links_to_existing_anchors(site):
    links = 0
    for md in sorted(API.glob("*.md")):
        page = site / "api" / ("" if md.stem == "index" else md.stem) / "index.html"
        html = page.read_text()
        assert not ROLE_TEXT.search(html), f"{md.name}: a Sphinx role shows as raw text"
        for href in re.findall(r'class="autorefs autorefs-internal"[^>]*href="([^"]+)"', html):
            url = urlsplit(href)
            target = (page.parent / url.path).resolve() if url.path else page
            target = target / "index.html" if target.is_dir() else target
            assert target.is_file(), f"{md.name}: {href} points at no page"
            if url.fragment:
                assert f'id="{url.fragment}"' in target.read_text(), f"{md.name}: {href}"
            links += 1
    assert links > 200
    evaluate = (site / "api" / "evaluate" / "index.html").read_text()
    assert 'href="#tfattr.apps.evaluate.BatchExplainer"><code>BatchExplainer</code></a>' in evaluate
