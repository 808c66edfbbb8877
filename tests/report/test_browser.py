"""The HTML reports in a real browser: every image loads, nothing scrolls sideways at 1280 px, and
the page logs no errors.

Chromium runs headless on a copy of each page into which a small script is injected: it records
errors and ``console.error`` calls from the start, and after the load event writes what it found
(broken images, the page's scroll width, elements sticking out) into the DOM, which
``--dump-dom`` returns. Install chromium with ``scripts/_browser.sh``; without it these tests
skip.
"""

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

WIDTH = 1280
CHECK_ID = "tfattr-browser-check"
PROBE = """<script>
window.__tfattrErrors = [];
window.addEventListener("error", function (event) {
  var target = event.target || {};
  var what = event.message || ("failed to load " + (target.tagName || "?") + " " +
    String(target.alt || target.src || "").slice(0, 60));
  window.__tfattrErrors.push(what);
}, true);
(function () {
  var original = console.error;
  console.error = function () {
    window.__tfattrErrors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  var root = document.documentElement;
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (img) { return !img.complete || img.naturalWidth === 0; });
  var wide = Array.prototype.slice.call(document.body.querySelectorAll("*")).filter(
    function (el) { return el.getBoundingClientRect().right > root.clientWidth + 0.5; });
  var result = {
    images: images.length,
    broken: broken.map(function (img) { return img.alt; }),
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    innerWidth: window.innerWidth,
    wide: wide.slice(0, 5).map(function (el) { return el.tagName + "." + el.className; }),
    errors: window.__tfattrErrors
  };
  var out = document.createElement("pre");
  out.id = "%s";
  out.style.whiteSpace = "pre-wrap";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>""".replace("%s", CHECK_ID)


def chromium() -> str | None:
    """The chromium executable ($TFATTR_CHROMIUM, chromium or chromium-browser), or None."""
    for candidate in (os.environ.get("TFATTR_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def browser_check(page, tmp_path, width: int = WIDTH) -> dict:
    """Loads `page` in headless chromium at `width` px; returns what the injected probe saw."""
    binary = chromium()
    if binary is None:
        pytest.skip("chromium is not installed (scripts/_browser.sh installs it on Debian)")
    text = page.read_text(encoding="utf-8")
    probed = tmp_path / f"probed_{page.name}"
    probed.write_text(re.sub(r"<head>", "<head>" + PROBE, text, count=1), encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},900",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probed.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    found = re.search(rf'<pre id="{CHECK_ID}"[^>]*>(.*?)</pre>', done.stdout, re.S)
    assert found, f"the page's probe did not report (rc {done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    # Errors chromium itself logs from the page (uncaught exceptions, failed resources).
    result["errors"] += [
        line for line in done.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line
    ]
    return result


def assert_reads_well(result: dict, expected_images: int) -> None:
    assert result["innerWidth"] == WIDTH, result
    assert result["images"] == expected_images, result
    assert result["broken"] == [], f"images that did not load: {result['broken']}"
    assert result["scrollWidth"] <= result["clientWidth"], (
        f"the page scrolls sideways at {WIDTH} px ({result['scrollWidth']} px wide); widest "
        f"elements: {result['wide']}"
    )
    assert result["errors"] == [], result["errors"]


def test_the_check_finds_broken_images_overflow_and_errors(tmp_path):
    """A page with each fault: the probe must see them, or the real checks prove nothing."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        "<img alt='missing' src='data:image/png;base64,AAAA'>"
        "<div style='width: 2000px'>wide</div>"
        "<script>console.error('boom'); undefined_function();</script>"
        "</body></html>",
        encoding="utf-8",
    )
    result = browser_check(bad, tmp_path)
    assert result["broken"] == ["missing"]
    assert result["scrollWidth"] > WIDTH
    assert any("boom" in e for e in result["errors"])
    assert any("undefined_function" in e for e in result["errors"])
    with pytest.raises(AssertionError):
        assert_reads_well(result, 1)


def test_demo_report_reads_well_at_1280px(tmp_path):
    from tfattr.apps.demo.run import run_demo

    out = tmp_path / "demo"
    methods = "saliency,integrated_gradients,gradcam,rise,occlusion"
    result = run_demo(out, images=3, methods=methods, batch_size=32, log=lambda *a: None)
    page = out / "report.html"
    # Per image: the photo, the mask, five methods and the random floor.
    panels = 1 + 1 + len(methods.split(",")) + 1
    assert_reads_well(browser_check(page, tmp_path), 3 * panels)
    assert result["images"] == 3


def _shapes_photos(folder, count=2):
    from PIL import Image

    from tfattr.apps.demo import shapes

    display, _, _ = shapes.make_dataset(count, shapes.TEST_SEED)
    folder.mkdir()
    paths = []
    for i, image in enumerate(display):
        path = folder / f"shape_{i}.png"
        Image.fromarray(np.asarray(image, np.uint8)).save(path)
        paths.append(path)
    return paths


def test_explain_report_reads_well_at_1280px(tmp_path, capsys):
    from tfattr.apps.cli import main

    photos = _shapes_photos(tmp_path / "photos")
    out = tmp_path / "out"
    code = main(
        [
            "explain", *map(str, photos), "--model", "shapes_cnn",
            "--methods", "saliency,ig,gradcam,occlusion", "--set", "integrated_gradients.steps=8",
            "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert_reads_well(browser_check(out / "report.html", tmp_path), 2 * (1 + 4))


def test_explain_report_of_real_photos_reads_well(tmp_path, imagenet_assets, capsys):
    from tfattr.apps.cli import main

    folder = imagenet_assets / "sample_images"
    photos = [folder / "n02391049_zebra.JPEG", folder / "n04310018_steam_locomotive.JPEG"]
    out = tmp_path / "out"
    code = main(
        [
            "explain", *map(str, photos), "--model", str(imagenet_assets / "mobilenet_2_5_128_tf.h5"),
            "--methods", "saliency,ig,gradcam", "--set", "integrated_gradients.steps=8",
            "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    page = out / "report.html"
    assert_reads_well(browser_check(page, tmp_path), 2 * (1 + 3))
    text = page.read_text()
    # Class names, not WordNet ids, without any download.
    assert "explained: <b>zebra <span class='id'>(340)</span></b>" in text
    assert not re.search(r"n\d{8} <span class='id'>", text)
