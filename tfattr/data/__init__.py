"""Data: images from files and folders, TFDS pipelines, ImageNet-A, ImageNet class names.

Example:
    >>> image = tfattr.data.load_image("cat.jpg", size=224)            # uint8 (224, 224, 3)
    >>> ds = tfattr.data.imagenet_a(image_size=224, preprocess=spec.preprocess)
    >>> tfattr.data.imagenet_class_names()[281]
    'tabby'
"""

from tfattr.data.imagenet_a import (
    IMAGENET_A_CLASSES,
    accuracy_200,
    accuracy_1000,
    evaluate_imagenet_a,
    imagenet_a,
    imagenet_a_mask,
    predictions_200,
    predictions_1000,
    restrict_to_imagenet_a,
    to_model_labels,
)
from tfattr.data.images import (
    RESIZE_POLICIES,
    BadImage,
    BadImagesError,
    FolderScan,
    find_bad_images,
    folder_labels,
    image_folder,
    load_image,
    resize_image,
    scan_folder,
)
from tfattr.data.labels import imagenet_class_names, imagenet_hub_labels, imagenet_wnids
from tfattr.data.tfds_loader import tfds_dataset

__all__ = [
    "IMAGENET_A_CLASSES",
    "RESIZE_POLICIES",
    "BadImage",
    "BadImagesError",
    "FolderScan",
    "find_bad_images",
    "scan_folder",
    "accuracy_1000",
    "accuracy_200",
    "evaluate_imagenet_a",
    "folder_labels",
    "image_folder",
    "imagenet_a",
    "imagenet_a_mask",
    "imagenet_class_names",
    "imagenet_hub_labels",
    "imagenet_wnids",
    "load_image",
    "predictions_1000",
    "predictions_200",
    "resize_image",
    "restrict_to_imagenet_a",
    "tfds_dataset",
    "to_model_labels",
]
