"""08-deep-learning: the hair-type input pipeline, model shape and homework statistics,
checked against hand computations on images the tests generate."""

from __future__ import annotations

import logging
import statistics

import numpy as np
import pytest
from PIL import Image

from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import data as hair
from zoomcamp.hair import history, model_keras

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _by_hand(pixels: np.ndarray) -> np.ndarray:
    """ImageNet normalisation in float64, channel by channel."""
    out = np.empty(pixels.shape, dtype=np.float64)
    for c in range(3):
        out[..., c] = (pixels[..., c] / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
    return out


def _nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    # PIL's NEAREST: output pixel i samples input pixel floor((i + 0.5) * n_in / n_out)
    return np.floor((np.arange(n_out) + 0.5) * n_in / n_out).astype(int)


def test_load_image_matches_hand_computation(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(260, 300, 3), dtype=np.uint8)  # height 260, width 300
    path = tmp_path / "x.png"
    Image.fromarray(pixels).save(path)
    x = hair.load_image(path)
    assert x.shape == (200, 200, 3) and x.dtype == np.float32
    rows, cols = _nearest_indices(260, 200), _nearest_indices(300, 200)
    expected = _by_hand(pixels[rows][:, cols].astype(np.float64))
    np.testing.assert_allclose(x, expected, atol=1e-5)
    # the same from an already opened PIL image
    np.testing.assert_array_equal(hair.load_image(Image.open(path)), x)


def test_normalised_range():
    white = hair.load_image(Image.new("RGB", (200, 200), (255, 255, 255)))
    black = hair.load_image(Image.new("RGB", (200, 200), (0, 0, 0)))
    for c in range(3):
        assert white[0, 0, c] == pytest.approx((1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], abs=1e-6)
        assert black[0, 0, c] == pytest.approx(-IMAGENET_MEAN[c] / IMAGENET_STD[c], abs=1e-6)


def _palette_image(colour, index=0) -> Image.Image:
    """A palette image whose pixels all use entry ``index``: 0 = ``colour``, 1 = green."""
    img = Image.new("P", (64, 48), index)
    img.putpalette([*colour, 10, 250, 10] + [0, 0, 0] * 254)
    return img


@pytest.mark.parametrize(
    "kind",
    ["gif-animated", "png-palette", "png-rgba", "jpeg-grayscale", "jpeg-rgb"],
)
def test_formats_decode_to_rgb(tmp_path, kind):
    colour = (200, 30, 90)
    if kind == "gif-animated":
        path = tmp_path / "a.gif"
        first, second = _palette_image(colour), _palette_image(colour, index=1)
        first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
        with Image.open(path) as im:
            assert im.n_frames == 2
    elif kind == "png-palette":
        path = tmp_path / "p.png"
        _palette_image(colour).save(path)
    elif kind == "png-rgba":
        path = tmp_path / "a.png"
        Image.new("RGBA", (64, 48), (*colour, 77)).save(path)  # alpha dropped, as convert("RGB")
    elif kind == "jpeg-grayscale":
        path, colour = tmp_path / "g.jpg", (128, 128, 128)
        Image.new("L", (64, 48), 128).save(path, quality=100)
    else:
        path = tmp_path / "c.jpeg"
        Image.new("RGB", (64, 48), colour).save(path, quality=100)
    x = hair.load_image(path)
    assert x.shape == (200, 200, 3) and x.dtype == np.float32
    expected = _by_hand(np.array(colour, dtype=np.float64))
    tol = 0.05 if kind.startswith("jpeg") else 1e-5  # jpeg: a level or two of rounding
    np.testing.assert_allclose(x, np.broadcast_to(expected, x.shape), atol=tol)


def test_param_count_matches_formula():
    conv = 3 * 3 * 3 * 32 + 32
    side = (200 - 3 + 1) // 2  # valid 3x3 conv, then 2x2 pooling
    flat = side * side * 32
    dense = flat * 64 + 64
    out = 64 + 1
    assert (conv, flat) == (896, 313632)
    model = model_keras.build_model()
    assert model.count_params() == conv + dense + out == 20073473
    assert model.output_shape == (None, 1)
    assert model.get_layer("flatten").output.shape[-1] == flat
    assert model.get_layer("logit").activation.__name__ == "linear"  # a logit, no sigmoid


def test_augmentation_shapes_and_reproducibility():
    rng = np.random.default_rng(1)
    batch = rng.normal(size=(4, 200, 200, 3)).astype(np.float32)
    a = np.asarray(model_keras.augmentation(seed=42)(batch, training=True))
    b = np.asarray(model_keras.augmentation(seed=42)(batch, training=True))
    assert a.shape == batch.shape
    np.testing.assert_array_equal(a, b)  # seeded
    assert not np.allclose(a, batch)  # it does transform
    np.testing.assert_array_equal(
        np.asarray(model_keras.augmentation()(batch, training=False)), batch
    )


def test_random_resized_crop():
    rng = np.random.default_rng(2)
    small = rng.normal(size=(3, 50, 60, 3)).astype(np.float32)
    assert np.asarray(model_keras.RandomResizedCrop(seed=1)(small)).shape == (3, 200, 200, 3)
    # full area and ratio 1 on a 200x200 image: the box is the whole image -> identity
    batch = rng.normal(size=(2, 200, 200, 3)).astype(np.float32)
    same = model_keras.RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0), seed=1)(batch)
    np.testing.assert_allclose(np.asarray(same), batch, atol=1e-5)
    # a constant image stays constant whatever the crop
    const = np.full((2, 200, 200, 3), 0.7, np.float32)
    np.testing.assert_allclose(
        np.asarray(model_keras.RandomResizedCrop(seed=3)(const)), const, atol=1e-6
    )


def _fake_dataset(root, per_class=2, size=(40, 30)):
    rng = np.random.default_rng(5)
    for split in ("train", "test"):
        for cls in ("curly", "straight"):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{cls}{i}.png")


def test_cache_reused_and_rebuilt_when_listing_changes(tmp_path, monkeypatch, caplog):
    root, cache = tmp_path / "data", tmp_path / "cache"
    _fake_dataset(root)
    first = hair.load_data(root=root, cache=cache)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1 and first.x_train.shape == (4, 200, 200, 3)
    assert first.y_train.tolist() == [0, 0, 1, 1]  # curly = 0, straight = 1
    expected = np.stack([hair.load_image(root / n) for n in first.names_train])
    np.testing.assert_array_equal(first.x_train, expected)

    def refuse(_):
        raise AssertionError("decoded again although the cache is valid")

    with monkeypatch.context() as m:
        m.setattr(hair, "decode_pixels", refuse)
        again = hair.load_data(root=root, cache=cache)
    np.testing.assert_array_equal(again.x_train, first.x_train)

    Image.new("RGB", (20, 20), (1, 2, 3)).save(root / "train" / "straight" / "new.png")
    (root / "test" / "curly" / "broken.jpg").write_bytes(b"not an image")
    with caplog.at_level(logging.WARNING, logger="hair"):
        changed = hair.load_data(root=root, cache=cache)
    assert changed.digest != first.digest
    assert [p.name for p in cache.glob("*.npz")] == [f"{changed.digest[:20]}.npz"]
    assert changed.x_train.shape[0] == 5 and changed.x_test.shape[0] == 4
    assert changed.skipped == ["test/curly/broken.jpg"]
    assert "broken.jpg" in caplog.text


def test_limit_takes_a_subset_of_each_split(tmp_path):
    root = tmp_path / "data"
    _fake_dataset(root, per_class=5)
    data = hair.load_data(root=root, cache=tmp_path / "cache", limit=3)
    assert len(data.y_train) == 3 and len(data.y_test) == 3
    assert not (tmp_path / "cache").exists()  # a quick run does not build the cache


def test_dataset_batches_shuffles_and_keeps_labels():
    n = 45
    x = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 3), np.float32)
    y = (np.arange(n) % 2).astype(np.float32)
    ds = model_keras.make_dataset(x, y, shuffle=True)
    epoch1 = [(np.asarray(a), np.asarray(b)) for a, b in ds]
    epoch2 = [(np.asarray(a), np.asarray(b)) for a, b in ds]
    assert [len(b) for _, b in epoch1] == [20, 20, 5]
    order1 = np.concatenate([a[:, 0, 0, 0] for a, _ in epoch1])
    order2 = np.concatenate([a[:, 0, 0, 0] for a, _ in epoch2])
    assert sorted(order1) == list(range(n)) and not np.array_equal(order1, order2)
    for a, b in epoch1:  # labels travel with their images
        np.testing.assert_array_equal(b[:, 0], a[:, 0, 0, 0] % 2)
    fresh = np.concatenate(
        [np.asarray(a)[:, 0, 0, 0] for a, _ in model_keras.make_dataset(x, y, shuffle=True)]
    )
    np.testing.assert_array_equal(fresh, order1)  # seeded: the same first epoch again


def test_homework_statistics_from_history():
    loss = [0.69, 0.6, 0.55, 0.5, 0.46, 0.41, 0.38, 0.33, 0.3, 0.25, 0.5, 0.48, 0.47, 0.46, 0.45]
    acc = [0.5, 0.6, 0.65, 0.7, 0.72, 0.75, 0.8, 0.82, 0.86, 0.9, 0.7, 0.72, 0.74, 0.75, 0.76]
    val_loss = [0.7] * 10 + [0.6, 0.62, 0.58, 0.61, 0.59]
    val_acc = [0.6] * 10 + [0.61, 0.62, 0.63, 0.64, 0.65]
    h = {"loss": loss, "accuracy": acc, "val_loss": val_loss, "val_accuracy": val_acc}
    a = history.answers_from_history({"history": h, "plain_epochs": 10})
    assert a["median_train_accuracy_plain"] == pytest.approx(statistics.median(acc[:10]))
    assert a["std_train_loss_plain"] == pytest.approx(statistics.pstdev(loss[:10]))
    assert a["mean_test_loss_augmented"] == pytest.approx(statistics.fmean(val_loss[10:]))
    assert a["mean_test_accuracy_last5_augmented"] == pytest.approx(statistics.fmean(val_acc[-5:]))


def test_preprocessing_record_is_what_load_image_does(tmp_path):
    """The record 09-serverless reads, replayed by hand, gives load_image's numbers."""
    pre = hair.preprocessing()
    assert (pre["mode"], pre["resample"], pre["first_frame"]) == ("RGB", "nearest", True)
    pixels = np.random.default_rng(3).integers(0, 256, size=(90, 130, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    rows, cols = _nearest_indices(90, pre["size"][1]), _nearest_indices(130, pre["size"][0])
    by_record = (pixels[rows][:, cols] * pre["scale"] - pre["mean"]) / pre["std"]
    np.testing.assert_allclose(hair.load_image(tmp_path / "x.png"), by_record, atol=1e-5)


def test_bilinear_cache_beside_the_nearest_one(tmp_path):
    root, cache = tmp_path / "data", tmp_path / "cache"
    _fake_dataset(root)
    near = hair.load_data(root=root, cache=cache)
    bil = hair.load_data(root=root, cache=cache, resample="bilinear", normalised=False)
    names = sorted(p.name for p in cache.glob("*.npz"))
    assert names == sorted([f"{near.digest[:20]}.npz", f"{near.digest[:20]}-bilinear.npz"])
    assert bil.x_train.dtype == np.uint8
    with Image.open(root / bil.names_train[0]) as img:
        expected = np.asarray(img.convert("RGB").resize((200, 200), Image.BILINEAR))
    np.testing.assert_array_equal(bil.x_train[0], expected)
    assert not np.array_equal(hair.normalise(bil.x_train), near.x_train)  # resampling differs
    Image.new("RGB", (20, 20), (1, 2, 3)).save(root / "train" / "straight" / "new.png")
    changed = hair.load_data(root=root, cache=cache, resample="bilinear", normalised=False)
    assert [p.name for p in cache.glob("*.npz")] == [f"{changed.digest[:20]}-bilinear.npz"]
    with pytest.raises(ZoomcampError, match="resample"):
        hair.load_data(root=root, cache=cache, resample="lanczos")
