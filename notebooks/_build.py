"""Writes the walkthrough notebooks of this folder (without outputs) from the cells below.

Run from anywhere: ``python notebooks/_build.py``. Edit the cells here, not the .ipynb files,
so that the five notebooks keep the same header, install cell and offline switch.
"""

from __future__ import annotations

import pathlib
import textwrap

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
COLAB = "https://colab.research.google.com/github/tfattr/tfattr/blob/main/notebooks/"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def md(text: str):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def header(name: str, title: str, intro: str, package: str = "tfattr") -> list:
    """Title, Colab badge and the install cell; ``package`` is what pip installs on Colab."""
    badge = f"[![Open In Colab]({BADGE})]({COLAB}{name}.ipynb)"
    requirement = f'"{package}"' if "[" in package else package
    return [
        md(f"# {title}\n\n{badge}\n\n" + textwrap.dedent(intro).strip()),
        md(
            f"""
            ## Setup

            On Colab, pick a GPU runtime (*Runtime → Change runtime type*) and run the next cell
            to install tfattr. tfattr runs on the TensorFlow that Colab has (2.16 to 2.21, with
            its Keras and tf-keras), so pip keeps it and no restart is needed; only on a runtime
            outside that range pip installs a supported TensorFlow, and then the session needs
            one restart (*Runtime → Restart session*). Locally: `pip install {requirement}`.
            """
        ),
        code(
            f"""
            import sys

            if "google.colab" in sys.modules:
                !pip install -q {requirement}
            """
        ),
    ]


# The configuration cell shared by the notebooks that use ImageNet models and photos.
IMAGENET_CONFIG = '''
import os
import pathlib

# TFATTR_OFFLINE=1 (set by the test suite) swaps the downloads for what exists without a
# network: the small pretrained MobileNet v1 (alpha 0.25, 128 px) and the ImageNet sample
# photos of the shared assets folder. The rest of the notebook is the same code either way.
OFFLINE = os.environ.get("TFATTR_OFFLINE", "0") == "1"
ASSETS = pathlib.Path(os.environ.get("TFATTR_ASSETS", "../../shared/imagenet_assets")).resolve()
if OFFLINE:
    import shutil
    import tempfile

    assert ASSETS.is_dir(), f"offline mode needs the shared ImageNet assets folder at {ASSETS}"
    # Keras' ImageNet class index in a private Keras home: class names without a download.
    keras_home = pathlib.Path(tempfile.mkdtemp(prefix="keras_home_"))
    (keras_home / "models").mkdir()
    shutil.copy(ASSETS / "imagenet_class_index.json", keras_home / "models")
    os.environ["KERAS_HOME"] = str(keras_home)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tfattr

# Real ImageNet photos, one per class, from github.com/EliSchwartz/imagenet-sample-images.
SAMPLE_URL = "https://raw.githubusercontent.com/EliSchwartz/imagenet-sample-images/master/"


def photo(file_name):
    """Local path of an ImageNet sample photo (downloaded once when online)."""
    if OFFLINE:
        return ASSETS / "sample_images" / file_name
    return keras.utils.get_file(file_name, SAMPLE_URL + file_name)


def load_model(preset):
    """The walkthrough's model online; the small pretrained MobileNet offline."""
    if OFFLINE:
        return tfattr.models.load(ASSETS / "mobilenet_2_5_128_tf.h5")
    return tfattr.models.load(preset)
'''.strip()


# ------------------------------------------------------------------------------------------------
# 01: VGG19, saliency, Grad-CAM and Integrated Gradients on one and on two animals


def notebook_01() -> list:
    cells = header(
        "01_vgg19_saliency_gradcam_ig",
        "Saliency, Grad-CAM and Integrated Gradients on VGG19",
        """
        Three ways of asking an image classifier *which pixels made you say this?*, on a photo
        with one animal and on a photo with two:

        1. **Vanilla gradients** (Simonyan, Vedaldi & Zisserman, *Deep Inside Convolutional
           Networks*, 2014, [arXiv:1312.6034](https://arxiv.org/abs/1312.6034)): how much the class
           score would change if a single pixel changed a little.
        2. **Grad-CAM** (Selvaraju et al., *Grad-CAM: Visual Explanations from Deep Networks via
           Gradient-based Localization*, ICCV 2017, [arXiv:1610.02391](https://arxiv.org/abs/1610.02391)):
           which regions of the last convolutional feature map the class relies on.
        3. **Integrated Gradients** (Sundararajan, Taly & Yan, *Axiomatic Attribution for Deep
           Networks*, ICML 2017, [arXiv:1703.01365](https://arxiv.org/abs/1703.01365)): gradients
           accumulated along a path from a reference image to the photo, so that the attributions
           add up to the change of the score.

        The model is VGG19 (Simonyan & Zisserman, 2015, [arXiv:1409.1556](https://arxiv.org/abs/1409.1556))
        with ImageNet weights. The question we want to answer at the end: when the picture holds
        two animals, does each method point at the animal of the class we ask about?
        """,
    )
    cells += [
        code(
            IMAGENET_CONFIG
            + """

STEPS = 16 if OFFLINE else 64          # Integrated Gradients: gradient evaluations per path
RANDOM_BASELINES = 3 if OFFLINE else 10  # IG averaged over this many random reference images
"""
        ),
        md(
            """
            ## The model and the photos

            `tfattr.models.load` returns a `ModelSpec`: the Keras model plus what is needed to use
            it — its preprocessing (VGG: RGB→BGR and ImageNet mean subtraction), input size, class
            names and the layer Grad-CAM should use by default (VGG19's `block5_conv4`, the last
            convolution). Attributions are computed on the preprocessed tensor the model sees;
            for pictures we keep the plain uint8 photo next to it.

            The two-animal picture is made by putting a zebra and a Tibetan terrier side by side,
            each cut to half the width, so that we know where each animal is.
            """
        ),
        code(
            """
            spec = load_model("vgg19")
            H, W = spec.input_size
            print(spec.name, spec.input_size, "Grad-CAM layer:", spec.cam_layer)

            ZEBRA, TERRIER = "n02391049_zebra.JPEG", "n02097474_Tibetan_terrier.JPEG"
            one_animal = tfattr.data.load_image(photo(ZEBRA), (H, W))
            two_animals = tf.concat(
                [tfattr.data.load_image(photo(ZEBRA), (H, W // 2)),
                 tfattr.data.load_image(photo(TERRIER), (H, W - W // 2))],
                axis=1,
            )
            images = tf.stack([one_animal, two_animals])     # uint8, for pictures
            x = spec.preprocess(images)                       # what the model sees

            fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
            for ax, image, title in zip(axes, images, ["one animal", "two animals"]):
                ax.imshow(image.numpy()); ax.set_title(title); ax.axis("off")
            plt.show()
            """
        ),
        md(
            """
            ## Prediction and class lookup

            The model ends in a softmax, so its output is a probability per ImageNet class.
            `spec.decode` lists the best classes with their names, and `spec.class_id` turns a
            class name (or WordNet id) into the model's output index — the *target* we hand to
            every explainer below.
            """
        ),
        code(
            """
            probabilities = spec.model(x).numpy()
            for title, top in zip(["one animal", "two animals"], spec.decode(probabilities, top=5)):
                print(title)
                for class_id, name, p in top:
                    print(f"  {class_id:4d} {name:24s} {p:.3f}")

            zebra, terrier = spec.class_id("zebra"), spec.class_id("Tibetan_terrier")
            print("targets:", {"zebra": zebra, "Tibetan_terrier": terrier})
            print("two animals, p(zebra) = %.3f, p(terrier) = %.3f"
                  % (probabilities[1, zebra], probabilities[1, terrier]))
            """
        ),
        md(
            """
            *What to expect:* on the single photo "zebra" should win clearly. On the pair, both
            classes should appear among the top five; which one wins depends on the model.

            ## Vanilla gradients

            The saliency map is the gradient of one class score with respect to the input pixels.
            A large value means that a small change of that pixel would move the score a lot. As in
            Simonyan et al., we keep one number per pixel: the largest absolute gradient over the
            three colour channels (`reduce="max_abs"`). By default tfattr differentiates the
            *logit* (the score before the softmax), because the softmax couples all classes.

            We explain the two-animal photo twice, once per target class, in a single batched
            call: `target` takes one class per image.
            """
        ),
        code(
            """
            pair = tf.stack([x[1], x[1]])
            targets = [zebra, terrier]
            titles = ["target: zebra", "target: Tibetan terrier"]

            saliency = tfattr.Saliency(spec.model).explain(pair, target=targets)
            saliency_single = tfattr.Saliency(spec.model).explain(x[:1], target=zebra)

            fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
            tfattr.viz.visualize(saliency_single, images[0], reduce="max_abs", cmap="gray",
                                 title="one animal, zebra", ax=[axes[0]])
            tfattr.viz.visualize(saliency, tf.stack([images[1]] * 2), reduce="max_abs",
                                 cmap="gray", title=titles, ax=list(axes[1:]))
            plt.show()
            """
        ),
        md(
            """
            *What to see:* bright pixels concentrate on edges and texture — the zebra's stripes
            stand out. Compare the two right-hand maps: they tend to look alike, with both animals
            lit in both maps, even though we asked about different classes.

            ## Grad-CAM on the last convolutional block

            Grad-CAM looks at the feature maps $A^k$ of a late convolutional layer, where each
            spatial position summarises a large patch of the image. It weights each channel by the
            average gradient of the class score over the positions, $\\alpha_k$, sums the weighted
            maps and keeps the positive part: $\\mathrm{ReLU}(\\sum_k \\alpha_k A^k)$. The coarse
            map (14×14 for VGG19 at 224 px) is upsampled to the photo and drawn over it with a
            colour map (`tfattr.viz.overlay`).
            """
        ),
        code(
            """
            gradcam = tfattr.GradCAM(spec.model, layer=spec.cam_layer)
            cam = gradcam.explain(pair, target=targets)
            cam_single = gradcam.explain(x[:1], target=zebra)

            overlays = tfattr.viz.overlay(tf.concat([cam_single, cam], 0),
                                          tf.stack([images[0], images[1], images[1]]), alpha=0.45)
            fig, axes = plt.subplots(1, 3, figsize=(12, 4))
            for ax, picture, title in zip(axes, overlays, ["one animal, zebra", *titles]):
                ax.imshow(picture); ax.set_title(title); ax.axis("off")
            plt.show()
            """
        ),
        md(
            """
            *What to see:* on the pair, the "zebra" map should sit on the left half and the
            "Tibetan terrier" map on the right half. Let us measure it: the share of each map's
            total that falls into the left half.
            """
        ),
        code(
            """
            def left_share(maps):
                maps = tf.abs(tf.convert_to_tensor(maps))
                if maps.shape.rank == 4:
                    maps = tf.reduce_sum(maps, axis=-1)
                left = tf.reduce_sum(maps[:, :, : W // 2], axis=[1, 2])
                return (left / (tf.reduce_sum(maps, axis=[1, 2]) + 1e-12)).numpy()

            for method, maps in [("saliency", saliency), ("Grad-CAM", cam)]:
                zebra_share, terrier_share = left_share(maps)
                print(f"{method:9s} left-half share: target zebra {zebra_share:.2f}, "
                      f"target terrier {terrier_share:.2f}")
            """
        ),
        md(
            """
            ## Integrated Gradients

            A single gradient only describes the model near the photo; if a feature already
            saturates the score there, its gradient is small even though the feature matters.
            Integrated Gradients walks along a straight line from a reference image $b$ (the
            *baseline*) to the photo $x$, averages the gradients met on the way, and multiplies
            by $x - b$:

            $$\\mathrm{IG}(x) = (x - b) \\odot \\int_0^1 \\nabla F\\big(b + \\alpha (x - b)\\big)\\, d\\alpha .$$

            The integral is approximated with `steps` gradient evaluations (trapezoidal rule by
            default), computed in compiled batches. A useful check is *completeness*: the
            attributions should sum to $F(x) - F(b)$; `return_convergence_delta=True` reports the
            difference.

            **Zero baseline.** `baseline="black"` means zeros *in the model's input space*. For
            VGG's preprocessing that is the ImageNet mean colour (for the offline MobileNet, whose
            inputs are in [-1, 1], mid-grey), not a black photo; the point is only to have a
            reference with no object in it.
            """
        ),
        code(
            """
            ig = tfattr.IntegratedGradients(spec.model, steps=STEPS, batch_size=16)
            ig_zero, delta = ig.explain(pair, target=targets, baseline="black",
                                        return_convergence_delta=True)
            print("convergence delta per map:", np.round(delta.numpy(), 3))
            """
        ),
        md(
            """
            **Several random baselines.** Any single reference is an arbitrary choice: pixels that
            happen to equal the baseline get no attribution at all. Averaging IG over several
            random-noise baselines spreads that arbitrariness out. A stack of $K$ baselines
            `(K, H, W, 3)` makes tfattr average the $K$ results.
            """
        ),
        code(
            """
            rng = np.random.default_rng(0)
            noise = rng.integers(0, 256, size=(RANDOM_BASELINES, H, W, 3), dtype=np.uint8)
            ig_random = ig.explain(pair, target=targets, baseline=spec.preprocess(noise))

            fig, axes = tfattr.viz.compare(
                tf.stack([images[1]] * 2),
                {"saliency": saliency, "IG, zero baseline": ig_zero,
                 f"IG, {RANDOM_BASELINES} random baselines": ig_random},
                method="blended_heat_map", sign="absolute_value",
                reduce={"saliency": "max_abs"}, row_titles=titles, figsize=(13, 7),
            )
            plt.show()

            for method, maps in [("IG zero", ig_zero), ("IG random", ig_random)]:
                zebra_share, terrier_share = left_share(maps)
                print(f"{method:9s} left-half share: target zebra {zebra_share:.2f}, "
                      f"target terrier {terrier_share:.2f}")
            """
        ),
        md(
            """
            *What to see:* with the zero baseline, pixels far from that baseline — very dark or very
            bright ones, such as the terrier's black nose — tend to get large attributions, because
            IG multiplies by $x - b$; pixels close to the baseline colour get almost none, however
            important they are. Averaging over random baselines removes that bias towards extreme
            colours and gives a more even map. At pixel level, IG is only somewhat more
            class-specific than the plain gradient (compare the left-half shares with Grad-CAM's).

            ## Do the maps differ between the two target classes, and why?

            - **Grad-CAM is class-discriminative.** Its channel weights $\\alpha_k$ come from the
              gradient of *one* class score, and at the last convolutional layer channels respond to
              object parts at known positions; so the map moves to the animal we ask about, and the
              left-half share above should change a lot between the two targets.
            - **Pixel-level gradients change much less.** The input gradient passes through every
              ReLU of the network; which ReLUs are open is decided by the image, not by the class,
              so both classes share most of the backward path and the maps are dominated by the
              image's edges. IG inherits much of this: its factor $x - b$ is the same whichever
              class we ask about.
            - **Resolution is the price.** Grad-CAM sees only a 14×14 grid (4×4 for the offline
              MobileNet), so it says *where* but not *which pixels*; gradient methods give pixel
              detail but weak class separation. Guided Grad-CAM (`tfattr.GuidedGradCAM`) multiplies
              the two to get both.

            If the pair above was misclassified, the maps explain what the model *did* look at,
            which is exactly what they are for.
            """
        ),
    ]
    return cells


# ------------------------------------------------------------------------------------------------
# 02: methods, stakeholders and pitfalls


def notebook_02() -> list:
    cells = header(
        "02_methods_stakeholders_pitfalls",
        "Attribution methods, who needs them, and how they mislead",
        """
        A tour of the gradient-based attribution methods on a pretrained ResNet50 (He et al.,
        *Deep Residual Learning for Image Recognition*, CVPR 2016,
        [arXiv:1512.03385](https://arxiv.org/abs/1512.03385)) and a few ImageNet photos, followed by
        the tests that show where such explanations fail.

        **Who reads an attribution map?** A model developer debugging a wrong prediction
        (did it look at the object or at the background?); a domain expert deciding whether to
        trust a prediction; an auditor or regulator asking whether a decision used forbidden
        evidence; and the person affected by the decision. They need different things — the
        developer wants faithfulness to the model, the expert wants something that matches their
        concepts, the affected person wants an actionable reason — and the same map rarely serves
        all of them. The second half of this notebook shows why a map should not be read at face
        value by any of them.

        Methods: Saliency (Simonyan et al., 2014, [arXiv:1312.6034](https://arxiv.org/abs/1312.6034)),
        Integrated Gradients (Sundararajan et al., 2017, [arXiv:1703.01365](https://arxiv.org/abs/1703.01365)),
        GradientShap and DeepLiftShap (Lundberg & Lee, *A Unified Approach to Interpreting Model
        Predictions*, 2017, [arXiv:1705.07874](https://arxiv.org/abs/1705.07874); DeepLift:
        Shrikumar et al., 2017, [arXiv:1704.02685](https://arxiv.org/abs/1704.02685)).
        """,
        package="tfattr[segments]",  # tfattr.sanity.similarity (SSIM, HOG)
    )
    cells += [
        code(
            IMAGENET_CONFIG
            + """

STEPS = 16 if OFFLINE else 50      # IG gradient evaluations
SAMPLES = 8 if OFFLINE else 50     # GradientShap draws
NOISE_REFERENCES = 2 if OFFLINE else 4  # random-noise references for the Shap methods
"""
        ),
        md(
            """
            ## Model and images

            Three photos from the ImageNet sample set. `x` holds them as the model sees them,
            `images` as uint8 pictures.
            """
        ),
        code(
            """
            spec = load_model("resnet50")
            H, W = spec.input_size
            FILES = ["n01440764_tench.JPEG", "n02391049_zebra.JPEG", "n04562935_water_tower.JPEG"]
            images = tf.stack([tfattr.data.load_image(photo(f), (H, W)) for f in FILES])
            x = spec.preprocess(images)

            predicted = spec.model(x).numpy().argmax(-1)
            labels = [spec.class_id(f.split("_", 1)[0]) for f in FILES]   # from the WordNet id
            names = [spec.class_names[i] for i in predicted]
            for f, label, p in zip(FILES, labels, predicted):
                print(f"{f:30s} label {spec.class_names[label]:14s} predicted {spec.class_names[p]}")
            """
        ),
        md(
            """
            ## Four methods

            - **Saliency**: the absolute gradient of the class logit.
            - **Integrated Gradients**: gradients averaged along the path from the all-zeros input
              (zeros in the model's input space) to the image, times the difference (see notebook 01). The convergence delta
              $\\sum \\mathrm{IG} - (F(x) - F(b))$ tells whether `steps` was enough: it should be
              small next to $F(x) - F(b)$.
            - **GradientShap**: the expected-gradients estimate of SHAP values. Each draw picks a
              baseline from a set, a random point on the path to the image, and multiplies that
              gradient by $x - b$; the average over many draws approximates IG averaged over the
              baseline distribution.
            - **DeepLiftShap**: DeepLift compares each neuron's activation with its activation on a
              reference input and distributes the difference of the output backwards with the
              *rescale rule* (ratio of output to input differences instead of a derivative); it
              needs one backward pass per reference, and its attributions sum exactly to
              $F(x) - F(b)$. Averaged over a set of references it approximates SHAP values.

            Baselines for the two Shap methods: a black image and a few random-noise images.
            """
        ),
        code(
            """
            rng = np.random.default_rng(0)
            references = np.concatenate([
                np.zeros((1, H, W, 3), np.uint8),
                rng.integers(0, 256, size=(NOISE_REFERENCES, H, W, 3), dtype=np.uint8),
            ])
            baselines = spec.preprocess(references)

            saliency = tfattr.Saliency(spec.model).explain(x, target=predicted)
            ig, delta = tfattr.IntegratedGradients(spec.model, steps=STEPS, batch_size=16).explain(
                x, target=predicted, return_convergence_delta=True)
            shap = tfattr.GradientShap(spec.model, samples=SAMPLES, baselines=baselines, seed=0,
                                       batch_size=16).explain(x, target=predicted)
            deeplift_shap, deeplift_delta = tfattr.DeepLiftShap(
                spec.model, baselines=baselines, batch_size=8).explain(
                x, target=predicted, return_convergence_delta=True)

            logits = tfattr.ModelAdapter(spec.model)(x).numpy()
            zero_logits = tfattr.ModelAdapter(spec.model)(tf.zeros_like(x)).numpy()
            gap = logits[np.arange(len(x)), predicted] - zero_logits[np.arange(len(x)), predicted]
            print("IG: F(x) - F(0) =", np.round(gap, 2), " delta =", np.round(delta.numpy(), 3))
            print("DeepLiftShap delta (should be ~0):", np.round(deeplift_delta.numpy(), 4))

            maps = {"Saliency": saliency, "Integrated Gradients": ig, "GradientShap": shap,
                    "DeepLiftShap": deeplift_shap}
            fig, axes = tfattr.viz.compare(images, maps, method="blended_heat_map",
                                           sign="absolute_value", row_titles=names,
                                           figsize=(15, 10))
            plt.show()
            """
        ),
        md(
            """
            *What to see:* all four maps highlight the object for the correctly predicted photos.
            Saliency is the noisiest; IG, GradientShap and DeepLiftShap are related (all multiply
            by $x - b$) and look alike, the two Shap variants smoother because they average over
            references. A large IG delta means more `steps` are needed; DeepLiftShap's delta is
            zero up to rounding by construction.

            # Pitfalls

            ## 1. Fragility: noise that does not change the prediction changes the map

            Ghorbani, Abid & Zou (*Interpretation of Neural Networks is Fragile*, AAAI 2019,
            [arXiv:1710.10547](https://arxiv.org/abs/1710.10547)) showed that perturbations too small
            to change the prediction can move an attribution map a lot. `tfattr.sanity.fragility`
            adds random-sign noise of size `epsilon`, discards perturbations that change the
            predicted class, and compares the maps: the share of the top 10 % pixels that stay in
            the top 10 %, and the rank correlation. 1.0 would be perfectly stable.
            """
        ),
        code(
            """
            # epsilon in the model's input scale: 4 grey levels out of 255.
            per_level = float(tf.reduce_mean(spec.preprocess(np.full((1, 1, 1, 3), 1, np.uint8))
                                             - spec.preprocess(np.zeros((1, 1, 1, 3), np.uint8))))
            epsilon = 4 * per_level
            for name, explainer in [("Saliency", tfattr.Saliency(spec.model)),
                                    ("IG", tfattr.IntegratedGradients(spec.model, steps=STEPS))]:
                result = tfattr.sanity.fragility(spec.model, explainer, x, target=predicted,
                                                 epsilon=epsilon, samples=2 if OFFLINE else 8,
                                                 k=0.1, seed=0)
                print(f"{name:9s} top-10% kept: {np.round(result.topk_intersection, 2)}  "
                      f"rank corr: {np.round(result.spearman, 2)}  kept perturbations: {result.kept}")

            noisy = x + epsilon * tf.sign(tf.random.stateless_normal(x.shape, seed=(0, 1)))
            print("same prediction:", spec.model(noisy).numpy().argmax(-1) == predicted)
            noisy_saliency = tfattr.Saliency(spec.model).explain(noisy, target=predicted)
            tfattr.viz.compare(images[:1], {"Saliency": saliency[:1], "Saliency, noisy": noisy_saliency[:1]},
                               figsize=(9, 3))
            plt.show()
            """
        ),
        md(
            """
            *What to see:* the prediction is unchanged but a sizeable part of the top pixels
            changes; plain gradients are usually the most fragile. Ghorbani et al. go further and
            *optimise* the perturbation to move the map, which is much more effective than random
            noise.

            ## 2. Model randomization: the prediction changes, does the map?

            Adebayo et al. (*Sanity Checks for Saliency Maps*, NeurIPS 2018,
            [arXiv:1810.03292](https://arxiv.org/abs/1810.03292)) ask whether a map depends on what the
            model learned. Here we re-initialise only the top (classification) layer of a copy of the
            model: the predictions become meaningless, yet a map that mainly reflects the image
            (edges, contrast) hardly changes. Guided Backpropagation (Springenberg et al., 2015) is
            the well-known example of a method that fails this test; we compare it with Saliency by
            rank correlation of the absolute maps (1 = same ranking). The full test,
            `tfattr.sanity.model_randomization`, repeats this layer by layer down the network.
            """
        ),
        code(
            """
            randomized = tfattr.sanity.copy_model(spec.model)
            top_layer = tfattr.sanity.weighted_layers(randomized)[-1]
            tfattr.sanity.reinitialize(top_layer, seed=0)
            print("randomized layer:", top_layer.name)
            print("predictions before:", [spec.class_names[i] for i in predicted])
            print("predictions after: ",
                  [spec.class_names[i] for i in randomized(x).numpy().argmax(-1)])

            pictures = {}
            for name, method in [("Saliency", tfattr.Saliency), ("GuidedBackprop", tfattr.GuidedBackprop)]:
                before = method(spec.model).explain(x, target=predicted)
                after = method(randomized).explain(x, target=predicted)
                score = tfattr.sanity.similarity(before, after)["spearman_abs"]
                print(f"{name:15s} rank correlation before/after: {np.round(score, 2)}")
                pictures[name] = before[:1]
                pictures[name + ", random top"] = after[:1]
            tfattr.viz.compare(images[:1], pictures, figsize=(14, 3))
            plt.show()
            """
        ),
        md(
            """
            *What to see:* after randomising the top layer the predicted classes are arbitrary.
            Guided Backprop's map keeps a high rank correlation with the original — it shows the
            image's structure rather than the model's reasoning. Saliency typically drops further.
            (Re-initialising only one layer is the mildest version of the test; the cascading test
            randomises more and more layers.)

            ## 3. Adversarial examples: an invisible change, another class, another map

            The Fast Gradient Sign Method (Goodfellow, Shlens & Szegedy, *Explaining and Harnessing
            Adversarial Examples*, ICLR 2015, [arXiv:1412.6572](https://arxiv.org/abs/1412.6572)) moves
            every pixel by `epsilon` in the direction that increases the loss of the current class.
            The map of the new (wrong) class can look just as convincing as the map of the right one,
            so a plausible map is no evidence that the prediction is right. With a step of only two
            grey levels not every image flips; `success` says which did.
            """
        ),
        code(
            """
            attack = tfattr.adversarial.fgsm(spec.model, x, epsilon=2 * per_level)
            print("success:", attack.success)
            print("after the attack:", [spec.class_names[i] for i in attack.predictions])
            adversarial_saliency = tfattr.Saliency(spec.model).explain(attack.images,
                                                                       target=attack.predictions)
            tfattr.viz.compare(
                images, {"Saliency, clean": saliency, "Saliency, adversarial": adversarial_saliency},
                row_titles=[f"{a} -> {spec.class_names[b]}" for a, b in zip(names, attack.predictions)],
                figsize=(9, 9))
            plt.show()
            """
        ),
        md(
            """
            ## 4. Counterfactual: what would have to change?

            Goyal et al. (*Counterfactual Visual Explanations*, ICML 2019,
            [arXiv:1904.07451](https://arxiv.org/abs/1904.07451)) answer a different question than
            attribution maps: *which regions of another image would have to be pasted in for the
            prediction to change to that image's class?* `tfattr.adversarial.counterfactual` splits
            both images into a grid and greedily copies the cells of the distractor that raise its
            class the most, until the model switches.
            """
        ),
        code(
            """
            result = tfattr.adversarial.counterfactual(spec.model, x[0], x[1], grid=(4, 4),
                                                       max_regions=6)
            print(f"{spec.class_names[result.original_class]} -> {spec.class_names[result.class_reached]}"
                  f" (target {spec.class_names[result.target]}), success: {result.success}, "
                  f"regions copied: {len(result.regions)}")
            print("probability of the target after each edit:", np.round(result.probabilities, 3))
            edited = tfattr.viz.as_images(result.image, spec=spec)[0]
            fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
            for ax, picture, title in zip(axes, [images[0].numpy(), images[1].numpy(), edited],
                                          ["query", "distractor", "edited query"]):
                ax.imshow(picture); ax.set_title(title); ax.axis("off")
            plt.show()
            """
        ),
        md(
            """
            ## Summary of pitfalls

            1. **A map explains a prediction, not the truth.** On a wrong or adversarial prediction
               the map is just as crisp; it cannot tell you the model is right.
            2. **Maps can reflect the image more than the model.** Check with model randomization:
               if the map survives randomised weights, it is not telling you what the model learned.
            3. **Maps are fragile.** Tiny input changes that keep the prediction can reorder the
               most important pixels; do not over-interpret fine detail.
            4. **Baselines are choices.** IG, GradientShap and DeepLift answer "compared with what?";
               a black baseline gives dark objects no credit. State the baseline, or average over
               several.
            5. **Check the numbers you can check.** Completeness (the convergence delta) tells
               whether the integration was fine enough; deletion/insertion curves
               (`tfattr.metrics`) test whether the top pixels really matter to the model.
            6. **Different readers need different explanations.** A heat map serves a developer;
               an affected person is better served by a counterfactual ("this would have changed
               the outcome").
            """
        ),
    ]
    return cells


# ------------------------------------------------------------------------------------------------
# 03: VGG16, tf-explain style


def notebook_03() -> list:
    cells = header(
        "03_gradcam_vgg16_tf_explain_style",
        "Five explanations of one VGG16 prediction, saved as image grids",
        """
        The [tf-explain](https://github.com/sicara/tf-explain) library popularised a simple
        workflow: pick an image and a class, run several explainers, and save each result as an
        image grid. This notebook does the same with tfattr on VGG16 (Simonyan & Zisserman,
        2015, [arXiv:1409.1556](https://arxiv.org/abs/1409.1556)) and ends with a side-by-side
        comparison of the methods.

        - **Grad-CAM** — Selvaraju et al., ICCV 2017, [arXiv:1610.02391](https://arxiv.org/abs/1610.02391).
        - **SmoothGrad** — Smilkov et al., *SmoothGrad: removing noise by adding noise*, 2017,
          [arXiv:1706.03825](https://arxiv.org/abs/1706.03825).
        - **Occlusion** — Zeiler & Fergus, *Visualizing and Understanding Convolutional Networks*,
          ECCV 2014, [arXiv:1311.2901](https://arxiv.org/abs/1311.2901).
        - **Activation maps** — the raw feature maps of a layer (same paper's spirit: look inside).
        - **Vanilla gradients** — Simonyan et al., 2014, [arXiv:1312.6034](https://arxiv.org/abs/1312.6034).
        """,
    )
    cells += [
        code(
            IMAGENET_CONFIG
            + """
import tempfile
import time

from IPython.display import Markdown, display

SMOOTHGRAD_SAMPLES = 8 if OFFLINE else 50
OCCLUSION_WINDOW = 16 if OFFLINE else 32    # pixels; the stride is half the window
OUTPUT = pathlib.Path(tempfile.mkdtemp(prefix="tfattr_03_") if OFFLINE else "tfattr_outputs")
OUTPUT.mkdir(exist_ok=True)
"""
        ),
        md(
            """
            ## The image and the class

            We explain the ImageNet class **"tench"** (a freshwater fish, class 0) on the ImageNet
            sample photo of a tench lying on a cloth. Any class can be explained, not only the
            predicted one: change `TARGET` to ask, for instance, what speaks for "goldfish".
            """
        ),
        code(
            """
            spec = load_model("vgg16")
            H, W = spec.input_size
            image = tfattr.data.load_image(photo("n01440764_tench.JPEG"), (H, W))
            x = spec.preprocess(image)[None]
            TARGET = spec.class_id("tench")

            top = spec.decode(spec.model(x).numpy(), top=3)[0]
            print("top classes:", [(name, round(p, 3)) for _, name, p in top])
            print("explaining class", TARGET, spec.class_names[TARGET])
            timings, maps = {}, {}


            def timed(name, run):
                start = time.perf_counter()
                result = run()
                timings[name] = time.perf_counter() - start
                return result
            """
        ),
        md(
            """
            ## Grad-CAM

            Channels of the last convolutional layer weighted by the average gradient of the class
            score, summed, rectified and upsampled; drawn over the photo with the jet colour map.
            *What to see:* a warm blob over the evidence for "tench".
            """
        ),
        code(
            """
            maps["Grad-CAM"] = timed("Grad-CAM", lambda: tfattr.GradCAM(
                spec.model, layer=spec.cam_layer).explain(x, target=TARGET))
            gradcam_picture = tfattr.viz.overlay(maps["Grad-CAM"][0], image, alpha=0.45)
            tfattr.viz.save(gradcam_picture, OUTPUT / "grad_cam.png")
            plt.imshow(gradcam_picture); plt.axis("off"); plt.title("Grad-CAM"); plt.show()
            """
        ),
        md(
            """
            ## SmoothGrad

            Plain gradients are visually noisy: the gradient of a ReLU network jumps from pixel to
            pixel. SmoothGrad averages the gradient over copies of the image with Gaussian noise
            added (here 15 % of the pixel range), which keeps what is consistent and washes out the
            rest. *What to see:* a cleaner, more object-shaped version of the vanilla gradient below.
            """
        ),
        code(
            """
            maps["SmoothGrad"] = timed("SmoothGrad", lambda: tfattr.SmoothGrad(
                spec.model, samples=SMOOTHGRAD_SAMPLES, spread=0.15, seed=0, batch_size=16
            ).explain(x, target=TARGET))
            fig, ax = tfattr.viz.visualize(maps["SmoothGrad"][0], image, method="heat_map",
                                           reduce="max_abs", cmap="gray", title="SmoothGrad")
            tfattr.viz.save(fig, OUTPUT / "smoothgrad.png")
            plt.show()
            """
        ),
        md(
            """
            ## Occlusion

            The most direct test there is: hide a square patch (set it to zero in the model's input
            space), measure how much the class score drops, and slide the patch over the image. Each
            pixel gets the average drop of the patches that covered it. It needs no gradients, only
            many forward passes, and its resolution is the patch size. *What to see:* green where
            hiding the patch lowers the "tench" score the most (positive attribution), red where
            hiding it *raises* the score.
            """
        ),
        code(
            """
            maps["Occlusion"] = timed("Occlusion", lambda: tfattr.Occlusion(
                spec.model, window=OCCLUSION_WINDOW, stride=OCCLUSION_WINDOW // 2, batch_size=32
            ).explain(x, target=TARGET))
            fig, ax = tfattr.viz.visualize(maps["Occlusion"][0], image, method="blended_heat_map",
                                           sign="all", title="Occlusion (score drop)")
            tfattr.viz.save(fig, OUTPUT / "occlusion.png")
            plt.show()
            """
        ),
        md(
            """
            ## Activation maps

            Not an attribution: the feature maps a layer computes for this image, whatever the class.
            Early layers respond to edges and colours, late layers to parts of objects. We draw the
            (up to) 16 channels that vary most across the image, for an early and for the last
            convolutional layer, each scaled to its own range; constant channels are left out. *What to see:* edge- and colour-like maps early on;
            coarse blobs over parts of the fish at the last layer.
            """
        ),
        code(
            """
            early = "block1_conv2" if not OFFLINE else "conv_pw_1_relu"
            activations = timed("Activations", lambda: tfattr.Activations(
                spec.model, layers=[early, spec.cam_layer]).explain(x))


            def channel_grid(feature_maps, columns=8, count=16):
                # The channels that vary most over the image, each scaled to [0, 1], tiled.
                maps_ = feature_maps[0].numpy()
                spread = maps_.std(axis=(0, 1))
                live = [c for c in np.argsort(-spread)[:count] if spread[c] > 1e-3 * spread.max()]
                live = live[: max(len(live) // columns * columns, min(len(live), columns))]  # full rows
                tiles = [(maps_[..., c] - maps_[..., c].min()) / np.ptp(maps_[..., c]) for c in live]
                rows = [np.concatenate(tiles[r:r + columns], axis=1)
                        for r in range(0, len(tiles), columns)]
                return np.concatenate(rows, axis=0)


            fig, axes = plt.subplots(2, 1, figsize=(12, 4))
            for ax, (layer, feature_maps) in zip(axes, activations.items()):
                ax.imshow(channel_grid(feature_maps), cmap="viridis")
                ax.set_title(f"{layer}: {tuple(feature_maps.shape[1:])}"); ax.axis("off")
            tfattr.viz.save(fig, OUTPUT / "activations.png")
            plt.show()
            """
        ),
        md(
            """
            ## Vanilla gradients

            The absolute gradient of the class logit, maximum over colour channels.
            *What to see:* a speckled map that follows edges and texture.
            """
        ),
        code(
            """
            maps["Vanilla gradients"] = timed("Vanilla gradients", lambda: tfattr.Saliency(
                spec.model).explain(x, target=TARGET))
            fig, ax = tfattr.viz.visualize(maps["Vanilla gradients"][0], image, reduce="max_abs",
                                           cmap="gray", title="Vanilla gradients")
            tfattr.viz.save(fig, OUTPUT / "vanilla_gradients.png")
            plt.show()
            """
        ),
        md(
            """
            ## All methods on one grid, and how faithful they are

            One figure with all maps (saved as `comparison.png`), then a small quantitative check:
            the **deletion** curve of Petsiuk et al. (*RISE*, BMVC 2018,
            [arXiv:1806.07421](https://arxiv.org/abs/1806.07421)) removes pixels in the order a map
            ranks them and tracks the class probability. A map that finds the pixels the model
            really uses makes the probability fall fast, so a **lower** area under the curve is
            better. It is one test among several, not a verdict.
            """
        ),
        code(
            """
            fig, axes = tfattr.viz.compare(image, maps, method="blended_heat_map", figsize=(16, 3.5),
                                           reduce={"Vanilla gradients": "max_abs", "SmoothGrad": "max_abs"})
            tfattr.viz.save(fig, OUTPUT / "comparison.png")
            plt.show()

            auc = {name: float(tfattr.metrics.deletion(spec.model, x, attr, target=TARGET,
                                                       steps=10 if OFFLINE else 50).auc[0])
                   for name, attr in maps.items()}
            print("saved:", sorted(p.name for p in OUTPUT.glob("*.png")))
            """
        ),
        code(
            """
            qualities = {
                "Grad-CAM": ("layer grid (coarse)", "yes", "1 backward pass"),
                "SmoothGrad": ("pixel", "weak", f"{SMOOTHGRAD_SAMPLES} backward passes"),
                "Occlusion": (f"{OCCLUSION_WINDOW}-pixel patches", "yes", "forward passes only, many"),
                "Vanilla gradients": ("pixel", "weak", "1 backward pass"),
            }
            rows = ["| method | resolution | class-discriminative | cost | time here (s) | deletion AUC (lower is better) |",
                    "|---|---|---|---|---|---|"]
            for name, (resolution, discriminative, cost) in qualities.items():
                rows.append(f"| {name} | {resolution} | {discriminative} | {cost} | "
                            f"{timings[name]:.2f} | {auc[name]:.3f} |")
            rows.append(f"| Activations | layer grid | no (class-agnostic) | 1 forward pass | "
                        f"{timings['Activations']:.2f} | – |")
            display(Markdown("\\n".join(rows)))
            """
        ),
        md(
            """
            **Reading the table.** Grad-CAM is cheap and points at the right region but cannot
            resolve fine structure. Occlusion is the easiest to trust — it literally measures the
            effect of hiding something — but costs one forward pass per patch position and is blind
            to anything smaller than the patch. Vanilla gradients are cheap and sharp but noisy and
            weakly class-specific; SmoothGrad pays a few dozen passes to make them readable.
            Activation maps answer a different question (what does the layer see?) and are not
            attributions at all. The times include compiling on first use.
            """
        ),
    ]
    return cells


# ------------------------------------------------------------------------------------------------
# 04: ImageNet-A with TF-Hub Inception v1 and Integrated Gradients

OFFLINE_04 = """
import hashlib
import tempfile
from unittest import mock

import tensorflow_datasets as tfds

DATA_DIR = None  # TFDS' default folder
if OFFLINE:
    # 1. A TF-Hub-style SavedModel in place of Inception v1, put where tensorflow_hub looks for
    #    the real handle: [0, 1] images of 224 px -> 1001 logits, output 0 = "background". Inside
    #    it is the pretrained MobileNet (128 px), so predictions and maps mean something, and the
    #    background column makes the 1001/1000 offset real.
    class HubStyleClassifier(tf.Module):
        def __init__(self, network):
            super().__init__()
            self.network = network

        @tf.function(input_signature=[tf.TensorSpec([None, 224, 224, 3], tf.float32)])
        def __call__(self, images):
            small = tf.image.resize(images, (128, 128), antialias=True)
            logits = self.network(small * 2.0 - 1.0)
            background = tf.reduce_min(logits, axis=-1, keepdims=True) - 1.0
            return tf.concat([background, logits], axis=-1)

    mobilenet = tfattr.models.load(ASSETS / "mobilenet_2_5_128_tf.h5").model
    hub_cache = pathlib.Path(tempfile.mkdtemp(prefix="tfhub_"))
    handle = tfattr.models.HUB_PRESETS["inception_v1"][0]
    tf.saved_model.save(HubStyleClassifier(tfattr.models.logits_model(mobilenet)),
                        str(hub_cache / hashlib.sha1(handle.encode()).hexdigest()))
    os.environ["TFHUB_CACHE_DIR"] = str(hub_cache)
    os.environ.pop("TFHUB_MODEL_LOAD_FORMAT", None)

    # 2. A tiny archive laid out as imagenet-a.tar (imagenet-a/<wnid>/<file>.jpg): the sample
    #    photos of the 8 sample classes that belong to ImageNet-A, each also mirrored. TFDS'
    #    own imagenet_a builder then prepares it as if it had been downloaded.
    archive = pathlib.Path(tempfile.mkdtemp(prefix="imagenet_a_"))
    wnids = tfattr.data.imagenet_wnids()
    for path in sorted((ASSETS / "sample_images").glob("*.JPEG")):
        wnid = path.name.split("_", 1)[0]
        if wnids.index(wnid) in tfattr.data.IMAGENET_A_CLASSES:
            folder = archive / "imagenet-a" / wnid
            folder.mkdir(parents=True)
            pixels = tfattr.data.load_image(path)
            tf.io.write_file(str(folder / f"{wnid}_0.jpg"), tf.io.encode_jpeg(pixels))
            tf.io.write_file(str(folder / f"{wnid}_1.jpg"), tf.io.encode_jpeg(pixels[:, ::-1]))
    DATA_DIR = tempfile.mkdtemp(prefix="tfds_")
    with mock.patch.object(tfds.download.DownloadManager, "download_and_extract",
                           lambda self, url: str(archive)):
        tfds.builder("imagenet_a", data_dir=DATA_DIR).download_and_prepare()
""".strip()


def notebook_04() -> list:
    cells = header(
        "04_imagenet_a_inception_integrated_gradients",
        "Integrated Gradients on ImageNet-A with TF-Hub Inception v1",
        """
        ImageNet-A (Hendrycks et al., *Natural Adversarial Examples*, CVPR 2021,
        [arXiv:1907.07174](https://arxiv.org/abs/1907.07174)) is a set of 7,500 real photos that
        ImageNet classifiers get wrong, from 200 ImageNet classes. We load it from TensorFlow
        Datasets, classify it with the Inception v1 model from TF-Hub (Szegedy et al., *Going
        Deeper with Convolutions*, CVPR 2015, [arXiv:1409.4842](https://arxiv.org/abs/1409.4842)),
        and use Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017,
        [arXiv:1703.01365](https://arxiv.org/abs/1703.01365)) to see what the model looked at.

        Two details that are easy to get wrong are handled explicitly: the TF-Hub model has
        **1001** outputs (output 0 is "background", so ImageNet class *i* is output *i + 1*),
        and ImageNet-A is officially scored over its **200** classes only.
        """,
    )
    cells += [
        code(
            IMAGENET_CONFIG
            + """

M_STEPS = 32 if OFFLINE else 240   # trapezoid intervals along the path (the TF tutorial's m_steps)
BATCH = 16 if OFFLINE else 32      # interpolated images per compiled gradient batch
SLICE = "test" if OFFLINE else "test[:500]"   # the accuracy slice
"""
        ),
        md(
            """
            ### Offline stand-ins (CI only)

            Without a network the next cell builds what the rest of the notebook downloads
            otherwise, so that the *same* loading code runs: a TF-Hub-style model saved where
            `tensorflow_hub` looks up the real Inception v1 handle, and a tiny ImageNet-A-shaped
            archive that TFDS' real `imagenet_a` builder prepares. Online it does nothing.
            """
        ),
        code(OFFLINE_04),
        md(
            """
            ## Model and data

            `tfattr.models.load("inception_v1")` loads the TF-Hub classifier with `hub.load` (it is
            an opaque SavedModel: pure-gradient methods work on it, layer methods such as Grad-CAM
            do not). Its `label_offset` is 1. Passing that offset to `tfattr.data.imagenet_a` turns
            the dataset's ImageNet labels into model output indices, so labels and
            `argmax(model(x))` can be compared directly. Images are resized with padding to 224 px
            and scaled to [0, 1], as the hub model expects.
            """
        ),
        code(
            """
            spec = tfattr.models.load("inception_v1")
            print(spec.num_classes, "outputs, label_offset =", spec.label_offset,
                  "| output 0 is", spec.class_names[0])

            dataset = tfattr.data.imagenet_a(
                split=SLICE, image_size=spec.input_size, preprocess=spec.preprocess,
                label_offset=spec.label_offset, resize="pad", batch_size=8, data_dir=DATA_DIR)
            images, labels = next(iter(dataset))
            print(images.shape, images.dtype, "value range", float(tf.reduce_min(images)),
                  float(tf.reduce_max(images)))
            """
        ),
        md(
            """
            ## Prediction vs label

            The hub model returns logits. `spec.class_names` has one name per output, with
            "background" at index 0; `spec.to_imagenet` maps a model output back to the ImageNet-1k
            index. Below, each image's label, the plain top-1 over all 1001 outputs, and the top-1
            restricted to the 200 ImageNet-A classes.
            """
        ),
        code(
            """
            model = tfattr.ModelAdapter(spec.model, output="raw")   # a callable returning logits
            logits = model(images)
            top_200 = tfattr.data.predictions_200(logits, spec.label_offset).numpy()
            top_all = logits.numpy().argmax(-1)
            for i, label in enumerate(labels.numpy()):
                print(f"label {spec.class_names[label]:18s} (ImageNet {spec.to_imagenet(label)}) | "
                      f"top-1 {spec.class_names[top_all[i]]:18s} | top-1 of 200 {spec.class_names[top_200[i]]}")

            n = min(4, len(labels))
            fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.6))
            for ax, image, label, guess in zip(np.atleast_1d(axes), images, labels.numpy(), top_200):
                ax.imshow(image.numpy()); ax.axis("off")
                ax.set_title(f"label: {spec.class_names[label]}\\npredicted: {spec.class_names[guess]}",
                             fontsize=9)
            plt.show()
            """
        ),
        md(
            """
            ## Gradients of the class probability along the path

            Why not just use the gradient at the image? Scale the image from black ($\\alpha = 0$)
            to the full photo ($\\alpha = 1$) and watch the probability of the predicted class: for
            a confident prediction it rises over a short stretch of the path and then flattens.
            Where it is flat the model is *saturated* and the gradient is near zero, although the
            pixels obviously matter. IG sums the gradients over the whole path, so the informative
            stretch is counted too. (On a wrong, low-confidence prediction, as is common on
            ImageNet-A, the curve can be much less regular.)
            `output="probabilities"` makes tfattr differentiate the softmax probability.
            """
        ),
        code(
            """
            IMAGE = 0
            image, target = images[IMAGE], int(top_200[IMAGE])
            alphas = tf.linspace(0.0, 1.0, 21)
            path = alphas[:, None, None, None] * image[None]          # black baseline: zeros
            probability = tf.nn.softmax(model(path))[:, target].numpy()
            gradients = tfattr.Saliency(spec.model, output="probabilities", abs=False,
                                        batch_size=BATCH).explain(path, target=target)
            mean_gradient = tf.reduce_mean(tf.abs(gradients), axis=[1, 2, 3]).numpy()

            fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
            left.plot(alphas, probability); left.set_xlabel("alpha"); left.set_title(
                f"p({spec.class_names[target]})")
            right.plot(alphas, mean_gradient); right.set_xlabel("alpha")
            right.set_title("mean |d p / d pixel|")
            plt.show()
            """
        ),
        md(
            """
            ## Integrated Gradients with the trapezoidal rule, in batches

            The TensorFlow tutorial splits the path into `m_steps` intervals and averages the
            gradients with the trapezoidal rule. tfattr's `steps` counts *gradient evaluations*
            (as Captum's `n_steps`), so `m_steps` intervals are `steps = m_steps + 1` points; the
            weights of `method="riemann_trapezoid"` sum to one. `batch_size` bounds how many
            interpolated images go through the model at once — the memory use does not grow with
            the number of steps — and `progress=True` shows a bar.
            """
        ),
        code(
            """
            ig = tfattr.IntegratedGradients(spec.model, steps=M_STEPS + 1, method="riemann_trapezoid",
                                            batch_size=BATCH, progress=True)
            attribution, delta = ig.explain(image, target=target, baseline="black",
                                            return_convergence_delta=True)
            print(f"convergence delta: {float(delta):.4f}  (sum of attributions minus "
                  f"F(image) - F(black))")
            """
        ),
        md(
            """
            ## The four-panel figure

            Baseline, photo, the attribution mask (sum of absolute attributions over the colour
            channels) and the mask overlaid on the photo. *What to see:* bright mask pixels on the
            parts of the object that drove the prediction — on ImageNet-A often a misleading
            background or texture, which is the point of the dataset.
            """
        ),
        code(
            """
            fig, axes = tfattr.viz.plot_img_attributions(image, attribution, baseline=tf.zeros_like(image),
                                                         cmap="inferno", overlay_alpha=0.4,
                                                         figsize=(8, 8))
            plt.show()
            """
        ),
        md(
            """
            ## ImageNet-A accuracy on a slice

            Two numbers: the official one, where the prediction is the best of the 200 ImageNet-A
            classes (`accuracy_200`), and the stricter one over all 1000 ImageNet classes
            (`accuracy_1000`). Both ignore the background output. ImageNet-A was collected by keeping
            photos that ResNet-50 classifiers get wrong, so standard ImageNet models score only a
            few percent on it; a low number here is expected, not a bug.
            """
        ),
        code(
            """
            result = tfattr.data.evaluate_imagenet_a(spec.model, dataset, label_offset=spec.label_offset)
            print(f"{result['count']} images: 200-way accuracy {result['accuracy_200']:.3f}, "
                  f"1000-way accuracy {result['accuracy_1000']:.3f}")
            if OFFLINE:
                print("(offline: ordinary ImageNet photos and a MobileNet stand-in, so these numbers "
                      "say nothing about ImageNet-A)")
            """
        ),
    ]
    return cells


# ------------------------------------------------------------------------------------------------
# 05: a small CIFAR-10 CNN, Saliency, IG, NoiseTunnel and DeepLift

DATA_05 = '''
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


def shapes_dataset(count, seed):
    """Offline stand-in: 32x32 colour images in 10 classes (5 shapes x 2 colours) on noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    images = rng.integers(0, 70, size=(count, 32, 32, 3)).astype(np.uint8)
    labels = rng.integers(0, 10, size=count)
    for image, label in zip(images, labels):
        cy, cx, r = rng.integers(11, 21), rng.integers(11, 21), rng.integers(7, 11)
        shape, colour = label % 5, label // 5
        if shape == 0:
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)           # square
        elif shape == 1:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r            # disk
        elif shape == 2:
            mask = (abs(yy - cy) <= 1) | (abs(xx - cx) <= 1)            # cross
            mask &= (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
        elif shape == 3:
            mask = (abs(yy - cy) <= 2) & (abs(xx - cx) <= r)            # horizontal bar
        else:
            mask = (abs(yy - cy) + abs(xx - cx)) <= r                   # diamond
        image[mask] = (230, 60, 40) if colour == 0 else (40, 110, 240)
    return images, labels


if OFFLINE:
    CLASSES = [f"{s} {c}" for c in ("red", "blue") for s in ("square", "disk", "cross", "bar", "diamond")]
    (train_images, train_labels), (test_images, test_labels) = shapes_dataset(2000, 0), shapes_dataset(200, 1)
else:
    (train_images, train_labels), (test_images, test_labels) = keras.datasets.cifar10.load_data()
    train_labels, test_labels = train_labels[:, 0], test_labels[:, 0]

# The model takes [0, 1] images; attributions are in that scale too.
x_train, x_test = train_images.astype("float32") / 255.0, test_images.astype("float32") / 255.0
print(x_train.shape, x_test.shape, CLASSES)
'''.strip()


SEGMENTATION_05 = [
    md(
        """
        ## Segmentation: explaining a region

        The same methods explain a segmentation model, whose output is a map of class scores
        `(N, H, W, classes)` rather than one score per class. As pytorch-grad-cam's
        `SemanticSegmentationTarget` does, we explain the sum of one class's scores over a
        region: `tfattr.targets.region(mask, class_id)` is a target that computes
        $\\sum_{h,w} \\text{mask}_{hw}\\, F(x)_{hw,\\text{class}}$, and every explainer takes it as
        `target=`. (Any callable `outputs -> (N,)` scores works the same way, e.g.
        `lambda out: out[:, 0]` for a regression model.)

        The data are generated here, online and offline alike: 32×32 images on noise, each with a
        red square (class 1) and a blue disk (class 2), labelled per pixel (0 = background). The
        model is a tiny U-Net: an encoder (convolution, max-pooling, a `bottleneck` convolution),
        a decoder (upsampling, a skip connection, convolutions) and per-pixel logits.
        """
    ),
    code(
        """
        def segmentation_dataset(count, seed):
            \"\"\"Images with a red square (class 1) and a blue disk (class 2) on noise, and
            their per-pixel labels.\"\"\"
            rng = np.random.default_rng(seed)
            yy, xx = np.mgrid[:32, :32]
            images = rng.uniform(0, 0.3, size=(count, 32, 32, 3)).astype("float32")
            labels = np.zeros((count, 32, 32), "int32")
            for image, label in zip(images, labels):
                for cls, colour in ((1, (0.9, 0.2, 0.15)), (2, (0.15, 0.45, 0.95))):
                    cy, cx, r = rng.integers(6, 26, size=2).tolist() + [int(rng.integers(3, 6))]
                    if cls == 1:
                        inside = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
                    else:
                        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
                    image[inside], label[inside] = colour, cls
            return images, labels


        seg_x, seg_y = segmentation_dataset(1500, 2)
        seg_test_x, seg_test_y = segmentation_dataset(8, 3)

        inputs = keras.Input((32, 32, 3))
        skip = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
        h = keras.layers.MaxPooling2D()(skip)
        h = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="bottleneck")(h)
        h = keras.layers.UpSampling2D()(h)
        h = keras.layers.Concatenate()([h, skip])
        h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
        segmenter = keras.Model(inputs, keras.layers.Conv2D(3, 1, name="pixel_logits")(h))
        segmenter.compile(optimizer=keras.optimizers.Adam(3e-3),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
        segmenter.fit(seg_x, seg_y, epochs=3 if OFFLINE else 6, batch_size=32, verbose=2)
        seg_predicted = segmenter.predict(seg_test_x, verbose=0).argmax(-1)
        print("pixel accuracy on new images: %.3f" % (seg_predicted == seg_test_y).mean())
        """
    ),
    md(
        """
        We explain, for two test images, the square's pixels as class 1 and the disk's pixels as
        class 2 (their true masks; the model's own prediction, `seg_predicted == 1`, works the
        same way). A list of targets gives each image its own region. Grad-CAM uses the
        `bottleneck` layer (the default would be the last 4-D layer, the logits themselves);
        Saliency and Integrated Gradients need no layer.
        """
    ),
    code(
        """
        images, truth = seg_test_x[:2], seg_test_y[:2]
        squares = [tfattr.targets.region(t == 1, class_id=1) for t in truth]
        disks = [tfattr.targets.region(t == 2, class_id=2) for t in truth]

        gradcam = tfattr.GradCAM(segmenter, layer="bottleneck")
        saliency = tfattr.Saliency(segmenter)
        ig = tfattr.IntegratedGradients(segmenter, steps=IG_STEPS)
        maps = {
            "Grad-CAM, square": gradcam.explain(images, target=squares),
            "Grad-CAM, disk": gradcam.explain(images, target=disks),
            "Saliency, square": saliency.explain(images, target=squares),
            "IG, disk": ig.explain(images, target=disks),
        }
        for name, attr in maps.items():
            mass = np.abs(attr.numpy()).reshape(2, 32, 32, -1).sum(-1)
            shape = truth == (1 if "square" in name else 2)
            share = (mass * shape).sum((1, 2)) / mass.sum((1, 2))
            print(f"{name:18s} share of the map on its object: {np.round(share, 2)}"
                  f" (the object covers {np.round(shape.mean((1, 2)), 2)} of the image)")
        tfattr.viz.compare(images, maps, method="blended_heat_map", sign="absolute_value",
                           figsize=(13, 6))
        plt.show()
        """
    ),
    md(
        """
        *What to see:* each map peaks on the region it explains, and its printed share on the
        object is well above the object's share of the image: the square's evidence sits on the
        square, the disk's on the disk (Grad-CAM's coarse bottleneck map also spreads a faint
        level over the background). The two Grad-CAM maps of one image differ although the
        image is the same — the target, not the picture, decides what is explained. Gradient
        maps are exactly zero far from the region, because a convolutional network's output at
        a pixel depends only on a neighbourhood of it (its receptive field).
        """
    ),
]


def notebook_05() -> list:
    cells = header(
        "05_cifar10_cnn_deeplift_noise_tunnel",
        "A small CIFAR-10 CNN explained: Saliency, IG, NoiseTunnel and DeepLift",
        """
        We train a small convolutional network on CIFAR-10 (Krizhevsky, *Learning Multiple Layers
        of Features from Tiny Images*, 2009) for a few epochs and compare four attribution methods
        on its test images, drawn as heat maps blended over the pictures:

        - **Saliency** — Simonyan et al., 2014, [arXiv:1312.6034](https://arxiv.org/abs/1312.6034).
        - **Integrated Gradients** — Sundararajan et al., ICML 2017, [arXiv:1703.01365](https://arxiv.org/abs/1703.01365).
        - **NoiseTunnel** with SmoothGrad² over IG — SmoothGrad: Smilkov et al., 2017,
          [arXiv:1706.03825](https://arxiv.org/abs/1706.03825); the squared variant: Hooker et al.,
          *A Benchmark for Interpretability Methods in Deep Neural Networks*, NeurIPS 2019,
          [arXiv:1806.10758](https://arxiv.org/abs/1806.10758).
        - **DeepLift** — Shrikumar, Greenside & Kundaje, *Learning Important Features Through
          Propagating Activation Differences*, ICML 2017, [arXiv:1704.02685](https://arxiv.org/abs/1704.02685).

        A last section explains a small segmentation model (a U-Net: Ronneberger, Fischer & Brox,
        MICCAI 2015, [arXiv:1505.04597](https://arxiv.org/abs/1505.04597)) with region targets:
        **Grad-CAM** (Selvaraju et al., ICCV 2017, [arXiv:1610.02391](https://arxiv.org/abs/1610.02391)),
        Saliency and IG of one class's score summed over a region of pixels.
        """,
    )
    cells += [
        code(
            """
            import os

            # TFATTR_OFFLINE=1 (set by the test suite) trains on a small generated dataset of the
            # same shape as CIFAR-10 (32x32 colour images, 10 classes) instead of downloading it.
            OFFLINE = os.environ.get("TFATTR_OFFLINE", "0") == "1"
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

            import keras
            import matplotlib.pyplot as plt
            import numpy as np
            import tensorflow as tf

            import tfattr

            EPOCHS = 4 if OFFLINE else 10
            IG_STEPS = 16 if OFFLINE else 50
            NOISE_SAMPLES = 4 if OFFLINE else 20
            keras.utils.set_random_seed(0)
            """
        ),
        md(
            """
            ## Data

            CIFAR-10 has 50,000 training and 10,000 test images of 32×32 pixels in ten classes.
            (Offline, the stand-in classes are five shapes in two colours on a noisy background,
            which a small network learns in seconds.)
            """
        ),
        code(DATA_05),
        md(
            """
            ## A small CNN

            Two blocks of convolutions with ReLU and max-pooling, then a dense layer and ten
            logits (no softmax: the loss applies it). DeepLift needs to see every nonlinearity as
            a layer or a fused `activation=` argument, which is how Keras models are written anyway.
            """
        ),
        code(
            """
            model = keras.Sequential([
                keras.Input((32, 32, 3)),
                keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.Flatten(),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(10),
            ])
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            model.fit(x_train, train_labels, epochs=EPOCHS, batch_size=64,
                      validation_data=(x_test, test_labels), verbose=2)
            print("test accuracy: %.3f" % model.evaluate(x_test, test_labels, verbose=0)[1])
            """
        ),
        md(
            """
            ## Images to explain

            Four test images; we explain the *true* class of each, so that a map on a wrong
            prediction shows the evidence the model found (or missed) for the right answer.
            """
        ),
        code(
            """
            pick = np.arange(4)
            x, labels = x_test[pick], test_labels[pick]
            predicted = model.predict(x, verbose=0).argmax(-1)
            row_titles = [f"{CLASSES[t]} (pred. {CLASSES[p]})" for t, p in zip(labels, predicted)]
            print(row_titles)
            """
        ),
        md(
            """
            ## Saliency and Integrated Gradients

            Saliency: the absolute gradient of the class logit. IG: gradients averaged along the
            path from a black image to the input, times the input (with a black baseline, $x - b = x$).
            We keep IG's sign — positive attributions argue *for* the class, negative ones *against*.
            """
        ),
        code(
            """
            saliency = tfattr.Saliency(model).explain(x, target=labels)
            ig = tfattr.IntegratedGradients(model, steps=IG_STEPS)
            ig_attr, ig_delta = ig.explain(x, target=labels, baseline="black",
                                           return_convergence_delta=True)
            print("IG convergence delta:", np.round(ig_delta.numpy(), 4))
            """
        ),
        md(
            """
            ## NoiseTunnel: SmoothGrad² over Integrated Gradients

            A `NoiseTunnel` wraps any gradient explainer: it explains several noisy copies of each
            image (Gaussian noise, here `stddev=0.2` in [0, 1] pixel units) and combines the results.
            `kind="smoothgrad"` takes the mean; `kind="smoothgrad_sq"` takes the mean of the
            *squares*, which drops the sign and emphasises pixels that are important consistently
            and strongly; `"vargrad"` takes the variance.
            """
        ),
        code(
            """
            noise_tunnel = tfattr.NoiseTunnel(ig, kind="smoothgrad_sq", samples=NOISE_SAMPLES,
                                              stddev=0.2, seed=0)
            nt_attr = noise_tunnel.explain(x, target=labels)
            """
        ),
        md(
            """
            ## DeepLift

            DeepLift explains the *difference* between the output for the input and for a
            reference (here black). Instead of local derivatives, each nonlinearity passes on the
            ratio $\\Delta\\text{output} / \\Delta\\text{input}$ between the two inputs (the rescale
            rule), so a saturated unit still gets credit for the change it underwent. The
            attributions add up to $F(x) - F(\\text{reference})$ exactly, which the convergence
            delta confirms.
            """
        ),
        code(
            """
            deeplift, dl_delta = tfattr.DeepLift(model).explain(x, target=labels,
                                                                return_convergence_delta=True)
            print("DeepLift convergence delta:", np.round(dl_delta.numpy(), 5))
            """
        ),
        md(
            """
            ## Blended heat maps

            Each map is summed over colour channels, scaled so that the top 2 % of attribution
            mass saturates the colour, and blended over a grey version of the image (Captum's
            `blended_heat_map`). Saliency and SmoothGrad² are non-negative; for IG and DeepLift we
            show the signed maps (green for, red against).
            """
        ),
        code(
            """
            tfattr.viz.compare(x, {"Saliency": saliency, "SmoothGrad² over IG": nt_attr},
                               method="blended_heat_map", sign="absolute_value",
                               row_titles=row_titles, figsize=(8, 11))
            plt.show()
            tfattr.viz.compare(x, {"Integrated Gradients": ig_attr, "DeepLift": deeplift},
                               method="blended_heat_map", sign="all",
                               row_titles=row_titles, figsize=(8, 11))
            plt.show()
            """
        ),
        md(
            """
            *What to see:* IG, DeepLift and SmoothGrad² concentrate on the object and leave most of
            the background dark. Saliency also lights up background pixels around the object: the
            gradient says where a change *would* move the score, even where there is nothing to
            see. IG and DeepLift look much alike — both compare the image with the same black
            reference, and for a ReLU network their answers are close — and show supporting (green)
            and opposing (red) pixels. SmoothGrad² keeps only pixels that are strong under every
            noise draw, which makes it the easiest to read but hides the sign. On real CIFAR-10 the
            maps are rougher (a small network, tiny images). When the prediction is wrong, check
            whether the evidence for the true class sits on the object at all.
            """
        ),
        *SEGMENTATION_05,
    ]
    return cells


NOTEBOOKS = {
    "01_vgg19_saliency_gradcam_ig": notebook_01,
    "02_methods_stakeholders_pitfalls": notebook_02,
    "03_gradcam_vgg16_tf_explain_style": notebook_03,
    "04_imagenet_a_inception_integrated_gradients": notebook_04,
    "05_cifar10_cnn_deeplift_noise_tunnel": notebook_05,
}


def build(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = NOTEBOOKS[name]()
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "colab": {"provenance": [], "gpuType": "T4"},
    }
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{name[:2]}-{index:02d}"  # stable ids keep rebuilt notebooks diff-free
    nbformat.validate(notebook)
    return notebook


def main() -> None:
    for name in NOTEBOOKS:
        nbformat.write(build(name), HERE / f"{name}.ipynb")
        print("wrote", HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
