"""08-deep-learning, PyTorch track (``zoomcamp.hair.model_torch``): the network is the homework's
(parameter count by formula, same values and gradients as the plain Conv -> ReLU -> MaxPool
stack), the decode-once pipeline equals torchvision's PIL transforms, the augmentation
draws new parameters per image, and two runs give the same history."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms as T

from zoomcamp.hair import data as hair
from zoomcamp.hair import model_torch as hair_torch
from zoomcamp.hair import train_torch as hair_torch_train


def _image(seed: int, size=(317, 241)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_param_count_matches_formula():
    conv = 3 * 3 * 3 * 32 + 32
    side = (200 - 2) // 2
    dense = side * side * 32 * 64 + 64
    assert hair_torch.count_params(hair_torch.build_model()) == conv + dense + 64 + 1 == 20073473


def test_same_values_and_gradients_as_the_plain_stack():
    torch.manual_seed(0)
    model = hair_torch.build_model()
    reference = nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(313632, 64),
        nn.ReLU(), nn.Linear(64, 1),
    )  # fmt: skip
    for ref, mine in zip(
        (reference[0], reference[4], reference[6]),
        (model.conv, model.fc1, model.fc2),
        strict=True,
    ):
        ref.load_state_dict(mine.state_dict())
    x = torch.randn(3, 3, 200, 200)
    y = torch.tensor([[1.0], [0.0], [1.0]])
    outs = []
    for net in (model, reference):
        net.zero_grad()
        out = net(x)
        nn.BCEWithLogitsLoss()(out, y).backward()
        outs.append(out.detach())
    assert outs[0].shape == (3, 1)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        model.conv.weight.grad, reference[0].weight.grad, rtol=1e-4, atol=1e-6
    )
    torch.testing.assert_close(
        model.fc1.weight.grad, reference[4].weight.grad, rtol=1e-4, atol=1e-7
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_decode_once_pipeline_equals_torchvision_on_pil(seed):
    img = _image(seed)
    expected = T.Compose(
        [T.Resize((200, 200)), T.ToTensor(), T.Normalize(hair.MEAN_VALUES, hair.STD_VALUES)]
    )(img)
    pixels = hair.decode_pixels(img, hair_torch.RESAMPLE)
    ours = hair_torch.plain_transform()(torch.from_numpy(pixels.copy()).permute(2, 0, 1))
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)
    # the NumPy path (09's handler and the ONNX check) gives the same input
    np.testing.assert_allclose(hair_torch.to_input(pixels[None])[0], expected.numpy(), atol=1e-6)


def test_augmentation_is_per_image_and_seeded():
    pixels = np.stack([np.asarray(_image(s, (200, 200))) for s in (3, 3)])  # two equal images
    ds = hair_torch.dataset(pixels, np.array([0.0, 1.0]), hair_torch.augment_transform())
    torch.manual_seed(5)
    a0, a1 = ds[0][0], ds[1][0]
    torch.manual_seed(5)
    b0 = ds[0][0]
    assert a0.shape == (3, 200, 200) and a0.dtype == torch.uint8  # normalised per batch later
    assert not torch.equal(a0, a1)  # same image, new draws
    torch.testing.assert_close(a0, b0, rtol=0, atol=0)
    # the training loop's batch-level collate draws the same, in the same order
    torch.manual_seed(5)
    images, labels = hair_torch.collate_with(hair_torch.augment_transform())(
        [(ds.images[0], ds.labels[0]), (ds.images[1], ds.labels[1])]
    )
    torch.testing.assert_close(images, torch.stack([a0, a1]), rtol=0, atol=0)
    assert labels.tolist() == [0.0, 1.0]


def test_two_runs_give_the_same_history():
    rng = np.random.default_rng(0)
    data = hair.HairData(
        x_train=rng.integers(0, 256, (24, 200, 200, 3), dtype=np.uint8),
        y_train=(np.arange(24) % 2).astype(np.float32),
        x_test=rng.integers(0, 256, (8, 200, 200, 3), dtype=np.uint8),
        y_test=(np.arange(8) % 2).astype(np.float32),
        digest="test",
    )
    first = hair_torch_train.fit(data, 1, 1)[1]
    second = hair_torch_train.fit(data, 1, 1)[1]
    assert first == second
    assert len(first["loss"]) == 2 and all(np.isfinite(first["loss"]))
