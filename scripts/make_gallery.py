"""Draws the README's gallery: real photos explained by the main methods, with tfattr's defaults.

Uses the ImageNet MobileNet (alpha 0.25) weights and the sample photos of
``../shared/imagenet_assets/`` (offline), explains each photo's true class and writes one
``viz.compare`` grid.

    python scripts/make_gallery.py                      # docs/images/gallery.png
    python scripts/make_gallery.py --out /tmp/g.png --photos zebra,tench

The PNG is quantised to a dithered 256-colour palette to keep the repository small (< 500 KB).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
ASSETS = ROOT.parent / "shared" / "imagenet_assets"
WEIGHTS = "mobilenet_2_5_128_tf.h5"
PHOTOS = "zebra,water_ouzel,steam_locomotive,traffic_light"
SIZE = 224  # the weights also load at 224 px, which shows the photos better than 128
METHODS = {
    "Grad-CAM": ("gradcam", {}),
    "Score-CAM": ("scorecam", {}),
    "RISE": ("rise", {"samples": 512, "seed": 0}),
    "Saliency": ("saliency", {}),
    "Integrated Gradients": ("integrated_gradients", {"steps": 64}),
    "SmoothGrad": ("smoothgrad", {"samples": 24, "seed": 0}),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--assets", default=str(ASSETS), help="folder of the shared ImageNet assets"
    )
    parser.add_argument("--photos", default=PHOTOS, help="comma-separated class names of photos")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "gallery.png"))
    parser.add_argument("--dpi", type=int, default=72)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from PIL import Image

    from tfattr import models, registry, viz
    from tfattr.data import load_image

    assets = pathlib.Path(args.assets)
    if not (assets / WEIGHTS).is_file():
        parser.error(f"--assets {assets}: {WEIGHTS} not found there")
    spec = models.load(str(assets / WEIGHTS), input_size=SIZE)
    files = []
    for wanted in args.photos.split(","):
        found = sorted((assets / "sample_images").glob(f"n*_{wanted.strip()}.JPEG"))
        if not found:
            parser.error(f"--photos: no sample photo of {wanted!r}")
        files.append(found[0])
    photos = np.stack([load_image(f, spec.input_size).numpy() for f in files])
    x = spec.preprocess(photos)
    targets = [spec.class_id(f.stem.split("_", 1)[1]) for f in files]
    maps = {}
    for title, (name, options) in METHODS.items():
        explainer = registry.make(
            name, spec.model, image_size=spec.input_size, cam_layer=spec.cam_layer, **options
        )
        maps[title] = np.asarray(explainer.explain(x, target=targets))
        print(f"{title}: done", file=sys.stderr)
    names = [spec.class_names[t].replace("_", " ") for t in targets]
    fig, _ = viz.compare(photos, maps, row_titles=names, use_pyplot=False)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(viz.figure_to_array(fig, dpi=args.dpi))
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        out, optimize=True
    )
    print(f"wrote {out} ({out.stat().st_size // 1024} KB, {rgb.width}x{rgb.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
