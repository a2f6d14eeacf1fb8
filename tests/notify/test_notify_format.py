"""Messages and montages."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pixclass.errors import InputError
from pixclass.notify import (
    ImagesClassified,
    RunFailed,
    RunFinished,
    TestMessage,
    format_event,
    montage_png,
    run_link,
)
from pixclass.notify.format import compact_sizes


def test_run_finished_message_is_short_and_complete() -> None:
    classes = [(f"c{i}", 100 - i) for i in range(14)]
    message = format_event(
        RunFinished("birds", 12, classes, {"ACC": 0.5}, run_link("http://h:8000/", 12), b"png")
    )
    assert message.title == "pixclass: 14 classes found in birds"
    assert message.body.splitlines() == [
        'Run 12 on "birds" finished: 14 classes in 1309 images.',
        "Sizes: c0 100, c1 99, c2 98, c3 97, c4 96, c5 95, c6 94, c7 93, c8 92, c9 91"
        " +4 more (354 images)",
        "Against the labels: ACC 0.500",
        "Open: http://h:8000/runs/12",
        "(pixclass event: run-finished)",
    ]
    assert message.notify_type == "success"
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content) == ("pixclass-run-12-montage.png", b"png")


def test_other_events_name_their_type() -> None:
    failed = format_event(RunFailed("birds", 3, "no images"))
    assert failed.notify_type == "failure" and "no images" in failed.body
    classified = format_event(ImagesClassified("birds", 1, {"crow": 1}))
    assert classified.title == "pixclass: 1 image classified in birds"
    assert format_event(TestMessage()).body.endswith("(pixclass event: test)")
    assert compact_sizes([]) == "none"


def test_montage_is_a_grid_of_cells() -> None:
    images: list[np.ndarray] = [
        np.zeros((28, 28), dtype=np.uint8),
        np.random.default_rng(0).random((40, 20)),  # floats in [0, 1], taller than wide
        np.full((10, 10, 3), 200, dtype=np.uint8),
        np.full((8, 8, 4), 9, dtype=np.uint8),
        np.arange(64, dtype=np.int32).reshape(8, 8),  # scaled from its own range
    ]
    png = Image.open(io.BytesIO(montage_png(images, columns=3, cell=40)))
    assert png.format == "PNG" and png.mode == "RGB"
    assert png.size == (3 * 40, 2 * 40)
    assert png.getpixel((20, 20)) == (0, 0, 0)  # the black MNIST-sized image, scaled up
    assert Image.open(io.BytesIO(montage_png(images[:2]))).size == (2 * 64, 64)


def test_montage_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(InputError, match="at least one image"):
        montage_png([])
    with pytest.raises(InputError, match="shape"):
        montage_png([np.zeros((2, 2, 2, 2))])
