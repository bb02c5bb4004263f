"""The validation split every MNIST reader of tapeflow uses: the last examples of the training set.

``read_data_sets`` and ``benchmarks/mnist.py`` both hold out the *last* 5,000 of
the 60,000 training images, so their validation accuracies are measured on the
same images.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VALIDATION_SIZE", "split_validation"]

#: How many training examples MNIST's readers hold out for validation by default.
VALIDATION_SIZE = 5000


def split_validation(images: Any, labels: Any, size: int = VALIDATION_SIZE) -> tuple[Any, ...]:
    """Split off the last ``size`` examples: ``(train_x, train_y, val_x, val_y)``.

    Example:
        >>> import numpy as np
        >>> tx, ty, vx, vy = split_validation(np.arange(10), np.arange(10) % 3, size=4)
        >>> tx.tolist(), vx.tolist(), vy.tolist()
        ([0, 1, 2, 3, 4, 5], [6, 7, 8, 9], [0, 1, 2, 0])
    """
    if len(images) != len(labels):
        raise ValueError(f"split_validation: {len(images)} images but {len(labels)} labels")
    if not 0 <= size < len(images):
        raise ValueError(
            f"validation_size must be smaller than the {len(images)} training examples and "
            f">= 0, got {size}"
        )
    n = len(images) - size
    return images[:n], labels[:n], images[n:], labels[n:]
