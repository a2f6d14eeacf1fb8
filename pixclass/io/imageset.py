"""``ImageSet``: decoded images plus what is known about each; the hand-off from ``io`` onwards."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SkippedImage:
    """A file that could not be used, and why (shown to the user, written to ``*.errors.csv``)."""

    path: str
    reason: str


@dataclass
class ImageSet:
    """Images decoded to one colour mode and one working size.

    Attributes
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
        Grayscale images are (n, h, w); colour images (n, h, w, 3).
    names : list of str
        One per image: the file path (relative to the source folder or zip), or ``NAME:INDEX`` for a
        dataset.
    labels : ndarray of shape (n,) of int or None
        Known classes, for evaluation only; the pipeline never sees them.
    class_names : list of str or None
        ``class_names[label]`` is the name of a label, when known.
    skipped : list of SkippedImage
        Files that could not be read, with the reason.
    source : str
        What the images came from (a path or dataset name), for messages.
    """

    images: np.ndarray
    names: list[str]
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    skipped: list[SkippedImage] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.images) != len(self.names):
            raise ValueError("images and names must have the same length")
        if self.labels is not None and len(self.labels) != len(self.names):
            raise ValueError("labels and names must have the same length")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def color_mode(self) -> str:
        return "RGB" if self.images.ndim == 4 else "L"

    def subset(self, index: np.ndarray | list[int]) -> ImageSet:
        """The images at ``index`` (labels and names follow; skipped files are kept)."""
        idx = np.asarray(index)
        return ImageSet(
            images=self.images[idx],
            names=[self.names[i] for i in idx],
            labels=None if self.labels is None else self.labels[idx],
            class_names=self.class_names,
            skipped=list(self.skipped),
            source=self.source,
        )
