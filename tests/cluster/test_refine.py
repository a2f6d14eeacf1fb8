"""Self-training refinement on real image arrays: it fixes wrong labels, never needs true ones."""

import pickle
import warnings

import numpy as np
import pytest

from pixclass.cluster import discover, refine
from pixclass.cluster.refine import CnnRefiner, refine_labels
from pixclass.errors import MissingExtraError
from pixclass.evaluate import cluster_accuracy

pytest.importorskip("torch", reason="refinement needs the torch extra")
pytestmark = pytest.mark.torch


def test_refinement_fixes_most_wrong_labels(shapes) -> None:
    images, truth = shapes
    rng = np.random.default_rng(0)
    noisy = truth.copy()
    flip = rng.random(len(truth)) < 0.15
    noisy[flip] = (truth[flip] + rng.integers(1, 4, flip.sum())) % 4
    before = cluster_accuracy(truth, noisy)
    result = refine_labels(images, noisy, np.ones(len(noisy)), random_state=0)
    after = cluster_accuracy(truth, result.labels)
    assert before < 0.9
    assert after > 0.97, (before, after)
    assert result.rounds and result.rounds[0]["changed"] > 0.1
    assert np.all((result.confidence >= 0) & (result.confidence <= 1))
    assert isinstance(result.refiner, CnnRefiner)


def test_a_round_that_empties_a_class_is_thrown_away(shapes) -> None:
    images, truth = shapes
    # Class 3 holds a handful of images of every shape: no network can keep it apart.
    labels = truth.copy()
    labels[labels == 3] = 0
    labels[np.arange(len(labels)) % 40 == 0] = 3
    confidence = np.linspace(0.5, 1.0, len(labels))
    result = refine_labels(images, labels, confidence, random_state=0)
    assert "shrink a class" in result.stopped
    assert np.array_equal(result.labels, labels)
    assert np.allclose(result.confidence, confidence)
    assert result.refiner is None


def test_refined_model_predicts_its_own_labels_after_a_round_trip(shapes) -> None:
    images, truth = shapes
    result = discover(images, features="hog", seed=0, refine=True)
    assert result.refinement is not None and result.first_labels is not None
    assert result.params["refine"] is True
    assert cluster_accuracy(truth, result.labels) > 0.95
    model = type(result.model).from_bytes(result.model.to_bytes())
    assert model.refiner is not None
    labels, confidence = model.predict(images)
    assert np.mean(labels == result.labels) >= 0.995
    assert np.allclose(confidence, result.confidence, atol=1e-4)


def test_without_torch_auto_skips_with_a_warning_and_true_names_the_extra(
    shapes, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, _ = shapes
    monkeypatch.setattr(refine, "torch_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = discover(images[:200], features="pixels", seed=0, n_clusters=4)
    assert result.refinement is None
    assert any("pixclass[torch]" in str(w.message) for w in caught)
    with pytest.raises(MissingExtraError, match=r"pip install 'pixclass\[torch\]'"):
        discover(images[:200], features="pixels", seed=0, n_clusters=4, refine=True)


def test_photo_features_are_not_refined_by_default(shapes) -> None:
    images, _ = shapes
    result = discover(images, features="hog", seed=0, refine=False)
    assert result.refinement is None and result.params["refine"] is False


def test_sure_images_keep_their_own_view_and_unsure_ones_average_all_three(shapes) -> None:
    import torch

    from pixclass.cluster.refine import _as_tensor, _proba_tensor

    images, truth = shapes
    result = refine_labels(images, truth, np.ones(len(truth)), sure=0.9, random_state=0)
    assert result.refiner is not None and result.refiner.sure == 0.9
    net = result.refiner.net()
    x = _as_tensor(images, result.refiner.size)
    with torch.inference_mode():
        own = torch.softmax(net(x), dim=1).numpy()
    every_view = _proba_tensor(net, x, sure=None)
    mixed = _proba_tensor(net, x, sure=0.9)
    confident = own.max(axis=1) >= 0.9
    assert 0 < confident.sum() < len(x)
    assert np.allclose(mixed[confident], own[confident], atol=1e-6)
    assert np.allclose(mixed[~confident], every_view[~confident], atol=1e-6)
    # a saved refiner classifies the run's images as the run did
    loaded = pickle.loads(pickle.dumps(result.refiner))
    assert loaded.sure == 0.9
    assert np.allclose(loaded.predict_proba(images), mixed, atol=1e-6)
    assert np.array_equal(mixed.argmax(axis=1), result.labels)


@pytest.mark.parametrize("bad", [0.0, 1.5, "always"])
def test_a_bad_sure_is_a_clear_error(shapes, bad: object) -> None:
    images, truth = shapes
    with pytest.raises(ValueError, match="sure must be"):
        refine_labels(images, truth, np.ones(len(truth)), sure=bad)  # type: ignore[arg-type]
