"""Slant normalisation ("deskewing") of grayscale shapes by their image moments.

The same digit written upright or leaning is, to a pixel-based neighbour graph, two different
pictures: slant is the largest nuisance in handwriting, and it is what pushes 4s towards 9s and
1s towards 7s. The classical cure (LeCun et al.'s MNIST page lists it; k-NN error drops by half
with it) is to measure each image's slant from its second-order moments and shear it upright,
with its centre of mass moved to the centre of the frame.

For an image with intensities I(x, y), centre of mass (cx, cy) and central moments mu11, mu02,
the slant is ``alpha = mu11 / mu02`` and the output pixel (x, y) is read from the input at
``(x + alpha * (y - oy) + cx - ox, y + cy - oy)``, (ox, oy) being the frame's centre.

It pays only where the images lean, so ``discover(deskew="auto")`` applies it when the median
absolute slant of a sample (``leans``) is at least ``MIN_MEDIAN_SLANT`` (0.15). Measured here
(first clustering, PCA -> UMAP -> mixture, with and without): MNIST (median slant 0.20) 0.980
against 0.974 and 10 classes found where plain pixels found 9 in the same settings; for images
that stand upright it changes little or harms: Fashion-MNIST (median slant 0.02) k=10 0.607
against 0.613, and with k found 3 classes against 6; scikit-learn's digits (0.09) 0.944 against
0.943. Photos are clustered on a pretrained network's features, where it is never applied.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# A slant this large is not handwriting but a shape that is meant to lean (or a degenerate
# image); shearing further would push it out of the frame.
MAX_SLANT = 1.0
# ``leans``: the median absolute slant from which deskewing is worth it (see above), measured
# on at most this many images.
MIN_MEDIAN_SLANT = 0.15
LEAN_SAMPLE = 5000
# Images per map_coordinates call: bounds the float coordinate arrays (3 x 4 bytes per pixel).
CHUNK = 8192


def slants(images: np.ndarray) -> np.ndarray:
    """Slant ``mu11 / mu02`` of each image of shape (n, h, w) or (n, h, w, 3), clipped."""
    return _moments(_ink(images))[2]


def leans(images: np.ndarray, *, random_state: int | None = None) -> bool:
    """Whether the images lean enough for ``deskew`` to help: median |slant| >= 0.15."""
    images = np.asarray(images)
    if len(images) > LEAN_SAMPLE:
        rng = np.random.default_rng(random_state)
        images = images[np.sort(rng.choice(len(images), LEAN_SAMPLE, replace=False))]
    return bool(len(images)) and float(np.median(np.abs(slants(images)))) >= MIN_MEDIAN_SLANT


def deskew(images: np.ndarray) -> np.ndarray:
    """Shear each image upright and centre its ink (see the module docstring).

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
        Colour images are measured on their mean intensity and sheared channel by channel. The
        ink is what differs from the image's border (its median), so dark strokes on white
        paper are measured as well as white strokes on black.

    Returns
    -------
    ndarray of the same shape and dtype
    """
    images = np.asarray(images)
    out = np.empty_like(images)
    for start in range(0, len(images), CHUNK):
        batch = images[start : start + CHUNK]
        cx, cy, alpha = _moments(_ink(batch))
        planes = [batch[..., c] for c in range(batch.shape[3])] if batch.ndim == 4 else [batch]
        moved = [_shear(plane, cx, cy, alpha) for plane in planes]
        out[start : start + CHUNK] = np.stack(moved, axis=3) if batch.ndim == 4 else moved[0]
    return out


def _ink(images: np.ndarray) -> np.ndarray:
    gray = np.asarray(images, dtype=np.float32)
    if gray.ndim == 4:
        gray = gray.mean(axis=3)
    border = np.concatenate([gray[:, 0, :], gray[:, -1, :], gray[:, :, 0], gray[:, :, -1]], axis=1)
    return np.abs(gray - np.median(border, axis=1)[:, None, None])


def _moments(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre of mass (cx, cy) and clipped slant of each (h, w) ink plane."""
    n, h, w = ink.shape
    flat = ink.reshape(n, h * w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx, yy = xx.ravel(), yy.ravel()
    mass = flat.sum(axis=1)
    empty = mass < 1e-3
    mass = np.where(empty, 1.0, mass)
    # Matrix-vector products rather than broadcasting: 70k MNIST digits in 0.1 s, not 2 s.
    cx, cy = flat @ xx / mass, flat @ yy / mass
    mu11 = flat @ (xx * yy) / mass - cx * cy
    mu02 = flat @ (yy * yy) / mass - cy * cy
    alpha = np.where(mu02 > 1e-6, mu11 / np.maximum(mu02, 1e-6), 0.0)
    # A blank image stays where it is.
    cx = np.where(empty, (w - 1) / 2, cx)
    cy = np.where(empty, (h - 1) / 2, cy)
    alpha = np.where(empty, 0.0, np.clip(alpha, -MAX_SLANT, MAX_SLANT))
    return cx.astype(np.float32), cy.astype(np.float32), alpha.astype(np.float32)


def _shear(plane: np.ndarray, cx: np.ndarray, cy: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``plane`` (n, h, w) read at the sheared, re-centred coordinates."""
    n, h, w = plane.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ox, oy = (w - 1) / 2, (h - 1) / 2
    source_x = xx[None] + alpha[:, None, None] * (yy[None] - oy) + (cx - ox)[:, None, None]
    source_y = yy[None] + (cy - oy)[:, None, None]
    source_z = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], (n, h, w))
    # "nearest" continues the border, so nothing dark or bright is invented at the edges.
    moved = ndimage.map_coordinates(
        plane.astype(np.float32), [source_z, source_y, source_x], order=1, mode="nearest"
    )
    return np.clip(np.rint(moved), 0, 255).astype(np.uint8)
