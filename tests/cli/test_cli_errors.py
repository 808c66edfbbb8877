"""CLI manners: --help with examples, --version, listings, and exit code 2 with one line for bad arguments."""

import subprocess
import sys

import pytest

from tfattr import __version__
from tfattr.apps.cli import main

MOBILENET = "mobilenet_2_5_128_tf.h5"


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", ["demo", "explain", "evaluate"])
def test_help_of_every_command_has_examples(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"tfattr {command}" in out


def test_version_and_top_level_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tfattr {__version__}"
    assert main([]) == 2  # no command: the help, and a usage error status


def test_listings(capsys):
    code, out, _ = run(capsys, "explain", "--list-methods", "--list-models")
    assert code == 0
    for name in ("saliency", "integrated_gradients", "smoothgrad", "gradcam", "occlusion"):
        assert name in out
    for name in ("vgg16", "resnet50", "inception_v1", "shapes_cnn"):
        assert name in out


@pytest.fixture
def image(tmp_path):
    import tensorflow as tf
    from skimage import data as samples

    path = tmp_path / "coffee.png"
    tf.io.write_file(str(path), tf.io.encode_png(samples.coffee()))
    return path


def _bad(capsys, argv, expected):
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfattr"), err
    assert "Traceback" not in err
    assert expected in lines[0], lines[0]


def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, image, imagenet_assets):
    model = str(imagenet_assets / MOBILENET)
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not an image")
    out = str(tmp_path / "out")
    cases = [
        (
            ["explain", str(image), "--model", model, "--methods", "saliency,magic"],
            "unknown method 'magic'",
        ),
        (["explain", str(image), "--model", "no_such_model"], "not a known model"),
        (["explain", str(tmp_path / "missing.jpg"), "--model", model], "no such image file"),
        (["explain", str(not_an_image), "--model", model, "--out", out], "not a readable"),
        (["explain", str(image), "--model", model, "--target", "1000"], "out of range"),
        (
            ["explain", str(image), "--model", model, "--target", "not_a_class"],
            "unknown class name",
        ),
        (
            ["explain", str(image), "--model", model, "--set", "saliency.steps=3"],
            "has no option 'steps'",
        ),
        (["explain", "--model", model], "at least one IMAGE"),
        (["explain", str(image), "--top-k", "0"], "positive integer"),
        (["explain", str(image), "--bogus"], "unrecognized arguments"),
        (["evaluate", "--model", model, "--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["evaluate", "--model", model, "--dataset", "folder:/no/such/dir"], "no folder"),
        (
            ["evaluate", "--model", model, "--dataset", "tfds:no_such_dataset_xyz", "--out", out],
            "not a TFDS dataset",
        ),
        (["evaluate", "--model", model, "--dataset", "shapes", "--shard", "3/2"], "--shard"),
        (
            ["evaluate", "--model", model, "--dataset", "shapes", "--metrics", "accuracy"],
            "unknown metric accuracy",
        ),
        (
            ["evaluate", "--model", model, "--dataset", "shapes", "--methods", "nope"],
            "unknown method 'nope'",
        ),
        (
            ["evaluate", "--model", model, "--dataset", "shapes", "--strategy", "magic"],
            "invalid choice",
        ),
        (
            [
                "evaluate",
                "--model",
                model,
                "--dataset",
                f"folder:{imagenet_assets}",
                "--metrics",
                "pointing_game",
                "--out",
                out,
            ],
            "need ground-truth masks",
        ),
        (
            ["evaluate", "--model", model, "--dataset", "shapes", "--strategy", "multiworker"],
            "needs TF_CONFIG",
        ),
        (["demo", "--methods", "saliency,unknown"], "unknown method 'unknown'"),
    ]
    for argv, expected in cases:
        _bad(capsys, argv, expected)


def test_verbose_shows_the_traceback(capsys, image):
    code, _, err = run(capsys, "explain", str(image), "--model", "no_such_model", "--verbose")
    assert code == 2 and "Traceback" in err


def test_console_script_exit_status(tmp_path):
    """The real process: status 2, one line on stderr, no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfattr.apps.cli",
            "explain",
            "x.jpg",
            "--methods",
            "nope",
            "--model",
            "shapes_cnn",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("tfattr")]
    assert lines == ["tfattr: error: x.jpg: no such image file"], result.stderr
    assert "Traceback" not in result.stderr
