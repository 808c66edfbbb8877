"""ImageNet class names ship with tfattr: names offline, with no download attempt."""

import json

import pytest

from tfattr import data
from tfattr.data import labels


@pytest.fixture
def no_downloads(tmp_path, monkeypatch):
    """An empty Keras cache, and any download attempt recorded (the network is blocked too)."""
    import keras

    tried = []
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: tried.append(a) or 1 / 0)
    labels.imagenet_wnids.cache_clear()
    yield tried
    labels.imagenet_wnids.cache_clear()


def test_class_names_come_from_the_package_without_any_download(no_downloads):
    names = data.imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[340] == "zebra"
    assert names[281] == "tabby" and names[999] == "toilet_tissue"
    wnids = data.imagenet_wnids()
    assert wnids[340] == "n02391049" and len(set(wnids)) == 1000
    assert no_downloads == []
    assert not labels.keras_home().exists()  # nothing written to the cache either


def test_packaged_files_are_the_public_ones():
    index_path = labels.packaged_asset(labels.CLASS_INDEX_FILE)
    import hashlib

    assert hashlib.md5(index_path.read_bytes()).hexdigest() == labels.CLASS_INDEX_MD5
    index = json.loads(index_path.read_text())
    hub = data.imagenet_hub_labels()
    assert len(hub) == 1001 and hub[0] == "background" and hub[341] == "zebra"
    # TF-Hub output i + 1 is ImageNet class i: the two lists name the same classes.
    same = sum(
        hub[i + 1].replace(" ", "_").lower() == index[str(i)][1].lower() for i in range(1000)
    )
    assert same > 900


def test_target_by_name_works_offline(no_downloads):
    from tfattr.models.spec import ModelSpec

    spec = ModelSpec("m", model=None, preprocess=lambda x: x, input_size=(8, 8), num_classes=1000)
    assert spec.class_id("zebra") == 340 and spec.class_id("Golden Retriever") == 207
    hub = ModelSpec(
        "h", model=None, preprocess=lambda x: x, input_size=(8, 8), num_classes=1001, label_offset=1
    )
    assert hub.class_id("zebra") == 341
    assert no_downloads == []
