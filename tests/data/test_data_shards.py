"""Reading one share of a dataset decodes only its images (counted at the one decode call)."""

import functools

import numpy as np
import pytest
import tensorflow as tf

from tfattr.data import shards


@pytest.fixture
def photos(tmp_path):
    """A flat folder of 12 small PNGs whose pixel (0, 0) encodes their position."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(12):
        image = np.full((10, 14, 3), 100, np.uint8)
        image[0, 0] = i * 20
        (folder / f"img_{i:02d}.png").write_bytes(tf.io.encode_png(image).numpy())
    return folder


@pytest.fixture
def decoded(monkeypatch):
    """The number of images decoded since the fixture was made."""
    seen = []
    original = shards.decode

    def counting(data):
        tick = tf.py_function(lambda: seen.append(1) or 0, [], tf.int32)
        with tf.control_dependencies([tick]):
            return original(data)

    monkeypatch.setattr(shards, "decode", counting)
    return seen


def test_share_cuts_contiguous_blocks():
    blocks = [shards.share(10, k, 4) for k in range(4)]
    assert [list(b) for b in blocks] == [[0, 1], [2, 3, 4], [5, 6], [7, 8, 9]]
    assert sum(len(shards.share(1000, k, 7)) for k in range(7)) == 1000
    with pytest.raises(ValueError, match="index 4 of 4"):
        shards.share(10, 4, 4)


def test_a_folder_block_decodes_only_its_files(photos, decoded):
    source = shards.FolderSource(photos)
    block = shards.share(len(source), 1, 3)
    elements = list(source.dataset(block, (8, 8), resize="stretch").as_numpy_iterator())
    assert [int(i) for i, _, _ in elements] == [4, 5, 6, 7]
    assert len(decoded) == 4
    assert [int(label) for _, _, label in elements] == [-1] * 4


def test_evaluate_shard_and_resume_decode_only_their_part(photos, decoded, tmp_path):
    from tfattr.apps.cli import main

    out = tmp_path / "run"
    argv = ["evaluate", "--model", "shapes_cnn", "--dataset", f"folder:{photos}",
            "--methods", "saliency", "--metrics", "deletion", "--steps", "4",
            "--batch-size", "2", "--records-per-file", "2", "--out", str(out), "--quiet"]  # fmt: skip
    assert main([*argv, "--shard", "1/3"]) == 0
    assert len(decoded) == 4  # shard 1 of 3 of 12 images
    parts = sorted(out.glob("records/shard-00001-of-00003/part-*.parquet"))
    assert len(parts) == 2
    parts[-1].unlink()  # as if the job had been killed before its last chunk
    decoded.clear()
    assert main([*argv, "--shard", "1/3", "--resume"]) == 0
    assert len(decoded) == 2  # only the two images of the lost chunk
    from tfattr.apps.evaluate import read_records

    assert read_records(out).column("index").to_pylist() == [4, 5, 6, 7]


class _TinyImages:
    """A TFDS dataset of 20 PNGs made in the test (prepared offline, read by TFDS)."""

    @staticmethod
    @functools.cache  # TFDS registers a builder class by name, once
    def builder_class():
        import tensorflow_datasets as tfds

        class TfattrTinyImages(tfds.core.GeneratorBasedBuilder):
            VERSION = tfds.core.Version("1.0.0")

            def _info(self):
                return tfds.core.DatasetInfo(
                    builder=self,
                    features=tfds.features.FeaturesDict(
                        {
                            "image": tfds.features.Image(shape=(6, 6, 3)),
                            "label": tfds.features.ClassLabel(num_classes=20),
                        }  # fmt: skip
                    ),
                )

            def _split_generators(self, dl_manager):
                return {"test": self._generate_examples()}

            def _generate_examples(self):
                for i in range(20):
                    yield i, {"image": np.full((6, 6, 3), i * 10, np.uint8), "label": i}

        return TfattrTinyImages


def test_a_tfds_block_decodes_only_its_examples(tmp_path, decoded):
    builder = _TinyImages.builder_class()(data_dir=str(tmp_path))
    builder.download_and_prepare(file_format="tfrecord")
    decoded.clear()
    source = shards.TfdsSource(builder.name, "test", data_dir=str(tmp_path), download=False)
    assert len(source) == 20
    block = shards.share(20, 2, 4)  # images 10..14
    elements = list(source.dataset(block, (6, 6), resize="stretch").as_numpy_iterator())
    assert [int(i) for i, _, _ in elements] == [10, 11, 12, 13, 14]
    # The examples at positions 10..14 of the split as TFDS reads it (its stored order), each
    # intact: its pixels say which label it was made with.
    ordered = [int(e["label"]) for e in builder.as_dataset(split="test", shuffle_files=False)]
    assert [int(label) for _, _, label in elements] == ordered[10:15]
    assert [int(image[0, 0, 0]) for _, image, _ in elements] == [10 * v for v in ordered[10:15]]
    assert len(decoded) == 5


def test_an_unprepared_tfds_dataset_without_download_names_the_fix(tmp_path):
    _TinyImages.builder_class()
    with pytest.raises(ValueError) as error:
        shards.TfdsSource("tfattr_tiny_images", "test", data_dir=str(tmp_path), download=False)
    assert "is not prepared" in str(error.value)
    assert "tfds build tfattr_tiny_images --data_dir" in str(error.value)
