"""The clothing lesson's plumbing in PyTorch: the frozen backbone run once over every image
and its features cached (in ONNX Runtime by default: the same numbers, several times faster
on CPU), the checked ONNX export, and the linear probe that prices the pretrained weights.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from zoomcamp.clothing import data as cdata
from zoomcamp.clothing import model_torch as mt
from zoomcamp.errors import ZoomcampError

INPUT_NAME, OUTPUT_NAME = "input", "output"
ONNX_FILE = "clothing-torch.onnx"
ONNX_TOLERANCE = 1e-4


def export_onnx_bytes(module: nn.Module, example: torch.Tensor, output: str = OUTPUT_NAME):
    """``module`` as an ONNX graph (bytes): input ``input`` [N, 3, H, W], dynamic batch."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (example,),
            buf,
            input_names=[INPUT_NAME],
            output_names=[output],
            dynamic_axes={INPUT_NAME: {0: "N"}, output: {0: "N"}},
            opset_version=17,
            dynamo=False,  # no onnxscript here; the TorchScript exporter needs nothing more
        )
    return buf.getvalue()


def onnx_interface(checked_images: int) -> dict:
    """The export's interface with the hair exports' keys (graph names and shapes, the output's
    meaning), so 09's handler serves it: ``output`` "logits", one per class, softmax to
    probabilities (the hair model's single "logit" takes a sigmoid)."""
    return {
        "file": ONNX_FILE,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": [None, 3, mt.SIZE, mt.SIZE],
        "output_shape": [None, len(cdata.CLASSES)],
        "output": "logits",
        "checked_images": checked_images,
        "tolerance": ONNX_TOLERANCE,
    }


def export_checked(model: nn.Module, x: torch.Tensor) -> tuple[bytes, float]:
    """The whole model as ONNX, checked against PyTorch on ``x`` (normalised images)."""
    import onnxruntime as ort

    proto = export_onnx_bytes(model, x[:1])
    session = ort.InferenceSession(proto, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(x).numpy()
    diff = float(np.abs(session.run(None, {INPUT_NAME: x.numpy()})[0] - ref).max())
    if not diff <= ONNX_TOLERANCE:
        raise ZoomcampError(f"ONNX Runtime and PyTorch disagree: max |logit diff| {diff:.3g}")
    return proto, diff


class FeatureExtractor:
    """The frozen backbone as a function uint8 images -> features. ``engine="onnxruntime"``
    runs the backbone exported to ONNX (several times faster on CPU for depthwise
    convolutions), checked against PyTorch on the first batch it sees."""

    def __init__(self, backbone: mt.Backbone, engine: str = "onnxruntime", threads: int = 2):
        if engine not in ("onnxruntime", "torch"):
            raise ZoomcampError(f"unknown engine {engine!r}; choose onnxruntime or torch")
        self.backbone, self.engine, self.threads = backbone, engine, threads
        self.session = None
        self.max_abs_diff: float | None = None

    def _torch(self, x: torch.Tensor) -> np.ndarray:
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                return self.backbone.features(x).numpy()
        finally:
            torch.set_num_threads(before)

    def _session(self, x: torch.Tensor):
        import onnxruntime as ort

        proto = export_onnx_bytes(self.backbone.features, x[:1], output="features")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = self.threads, 1
        # no busy-waiting between ops: on a shared CPU spinning threads starve each other
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(proto, opts, providers=["CPUExecutionProvider"])
        self.max_abs_diff = float(np.abs(self._ort(x) - self._torch(x)).max())
        if not self.max_abs_diff <= ONNX_TOLERANCE:
            raise ZoomcampError(
                f"the ONNX backbone disagrees with PyTorch: max |diff| {self.max_abs_diff:.3g}; "
                "use --engine torch"
            )

    def _ort(self, x: torch.Tensor) -> np.ndarray:
        return self.session.run(None, {INPUT_NAME: x.numpy()})[0]

    def __call__(self, pixels: torch.Tensor) -> np.ndarray:
        x = mt.normalise(pixels, self.backbone)
        if self.engine == "torch":
            return self._torch(x)
        if self.session is None:
            self._session(x)
        return self._ort(x)

    def extract(self, pixels: torch.Tensor, batch_size: int = 32, desc: str = "features"):
        from tqdm import tqdm

        steps = range(0, len(pixels), batch_size)
        bar = tqdm(steps, desc=desc, unit="batch", leave=False, disable=None)
        out = [self(pixels[i : i + batch_size]) for i in bar]
        return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


@dataclass
class Data:
    root: object
    items: dict  # split -> [(relative path, label)]
    pixels: dict  # split -> uint8 (n, 3, 224, 224)
    labels: dict  # split -> int64 (n,)
    features: dict = field(default_factory=dict)  # split -> float32 (n, 1280)
    digest: str = ""


def prepare(extractor, limits: dict, root=None) -> Data:
    """Decode each split once, then run the backbone once over each split: the cache the
    heads train on. ``limits``: split -> at most that many images (None: all)."""
    root = cdata.data_root() if root is None else root
    items = {s: cdata.list_split(root, s, limits[s]) for s in cdata.SPLITS}
    if not all(items.values()):
        raise ZoomcampError(f"no images in one of the splits under {root}")
    out = Data(root, items, {}, {})
    out.digest = cdata.listing_digest(root, [i for s in cdata.SPLITS for i in items[s]])
    for s in cdata.SPLITS:
        out.pixels[s], out.labels[s] = mt.load_pixels(root, items[s], desc=f"decoding {s}")
        out.features[s] = extractor.extract(out.pixels[s], desc=f"features {s}")
    return out


def cached_batches(data: Data, generator: torch.Generator, batch_size: int):
    """The cached training features shuffled by ``generator``, in batches (slicing a tensor:
    a DataLoader's per-item collation costs more than the head's whole step here)."""
    features, labels = torch.from_numpy(data.features["train"]), data.labels["train"]
    for idx in torch.randperm(len(labels), generator=generator).split(batch_size):
        yield features[idx], labels[idx]


def augmented_batches(data: Data, extractor, generator: torch.Generator, batch_size: int):
    """Shuffled batches of augmented training images through the frozen backbone."""
    from tqdm import tqdm

    order = torch.randperm(len(data.labels["train"]), generator=generator).split(batch_size)
    for idx in tqdm(order, desc="augmented", unit="batch", leave=False, disable=None):
        features = extractor(mt.augment(data.pixels["train"][idx]))
        yield torch.from_numpy(features), data.labels["train"][idx]


def linear_probe(data: Data, random_extractor, n_train: int, seed: int = 42) -> dict:
    """Logistic regression on standardised features of ``n_train`` training images, with the
    pretrained and with random backbone weights: what pretraining is worth."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    idx = np.random.default_rng(seed).permutation(len(data.labels["train"]))[:n_train]
    idx.sort()
    y_tr, y_val = data.labels["train"].numpy()[idx], data.labels["validation"].numpy()
    random_tr = random_extractor.extract(data.pixels["train"][idx], desc="random train")
    random_val = random_extractor.extract(data.pixels["validation"], desc="random validation")
    out = {"n_train": len(idx)}
    for key, (tr, val) in {
        "pretrained": (data.features["train"][idx], data.features["validation"]),
        "random_weights": (random_tr, random_val),
    }.items():
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        out[f"{key}_val_accuracy"] = round(float(clf.fit(tr, y_tr).score(val, y_val)), 4)
    return out
