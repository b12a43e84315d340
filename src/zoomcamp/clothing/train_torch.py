"""Training the clothing head in PyTorch (the 2025 lesson's loop) on the blocks of
:mod:`zoomcamp.clothing.model_torch`: the frozen backbone as a feature extractor (PyTorch or its
ONNX export in ONNX Runtime), the features cached once, fresh heads trained on them for the
sweeps, epochs on augmented images, the checkpoint and the checked ONNX export.
"""

from __future__ import annotations

import io as _io
import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from zoomcamp import fileio
from zoomcamp.clothing import model_torch as ct
from zoomcamp.errors import ZoomcampError

log = logging.getLogger("clothing.torch")

SEED = 42
BATCH_SIZE = 32

# ---------------------------------------------------------------- features


class FeatureExtractor:
    """The frozen backbone as a function uint8 images -> features. ``engine="onnxruntime"``
    runs the backbone exported to ONNX (several times faster on CPU for depthwise
    convolutions), checked against PyTorch on the first batch it sees."""

    def __init__(self, backbone: ct.Backbone, engine: str = "onnxruntime", threads: int = 2):
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
        if not self.max_abs_diff <= ct.ONNX_TOLERANCE:
            raise ZoomcampError(
                f"the ONNX backbone disagrees with PyTorch: max |diff| {self.max_abs_diff:.3g}; "
                "use --engine torch"
            )

    def _ort(self, x: torch.Tensor) -> np.ndarray:
        return self.session.run(None, {ct.INPUT_NAME: x.numpy()})[0]

    def __call__(self, pixels: torch.Tensor) -> np.ndarray:
        x = ct.normalise(pixels, self.backbone)
        if self.engine == "torch":
            return self._torch(x)
        if self.session is None:
            self._session(x)
        return self._ort(x)

    def extract(self, pixels: torch.Tensor, batch_size: int = 32, desc: str = "features"):
        from tqdm import tqdm

        out = [
            self(pixels[i : i + batch_size])
            for i in tqdm(
                range(0, len(pixels), batch_size),
                desc=desc,
                unit="batch",
                leave=False,
                disable=None,
            )
        ]
        return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


def export_onnx_bytes(module: nn.Module, example: torch.Tensor, output: str = ct.OUTPUT_NAME):
    """``module`` as an ONNX graph (bytes): input ``input`` [N, 3, H, W], dynamic batch."""
    import warnings

    buf = _io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (example,),
            buf,
            input_names=[ct.INPUT_NAME],
            output_names=[output],
            dynamic_axes={ct.INPUT_NAME: {0: "N"}, output: {0: "N"}},
            opset_version=17,
            dynamo=False,  # no onnxscript here; the TorchScript exporter needs nothing more
        )
    return buf.getvalue()


def seed_everything(seed: int = SEED) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def configure() -> None:
    """One torch thread for the head and the augmentation, deterministic algorithms. Their
    ops are tiny: a second thread gains nothing, and on a shared CPU each parallel op waits
    for a descheduled thread (measured here: 5 s instead of 0.3 s per head epoch). The
    backbone gets its own threads (:class:`FeatureExtractor`)."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


@dataclass
class Data:
    root: object
    items: dict
    pixels: dict  # split -> uint8 (n, 3, 224, 224)
    labels: dict  # split -> int64 (n,)
    features: dict = field(default_factory=dict)  # split -> float32 (n, 1280)
    digest: str = ""


def prepare(backbone: ct.Backbone, extractor, cfg: dict, root=None) -> Data:
    """Step 1: decode each split once, then the backbone's features of each split once."""
    root = ct.data_root() if root is None else root
    items = {s: ct.list_split(root, s, cfg["limits"][s]) for s in ct.SPLITS}
    if not all(items.values()):
        raise ZoomcampError(f"no images in one of the splits under {root}")
    data = Data(root, items, {}, {})
    data.digest = ct.listing_digest(root, [i for s in ct.SPLITS for i in items[s]])
    for s in ct.SPLITS:
        data.pixels[s], data.labels[s] = ct.load_pixels(root, items[s], desc=f"decoding {s}")
        data.features[s] = extractor.extract(data.pixels[s], desc=f"features {s}")
    return data


# ---------------------------------------------------------------- the head on cached features


def evaluate(head: nn.Module, features: np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    head.eval()
    with torch.no_grad():
        logits = head(torch.from_numpy(features))
        loss = nn.functional.cross_entropy(logits, labels).item()
        acc = (logits.argmax(1) == labels).float().mean().item()
    return loss, acc


def _step(head, optimizer, f: torch.Tensor, y: torch.Tensor) -> float:
    head.train()
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(head(f), y)
    loss.backward()
    optimizer.step()
    return loss.item() * len(y)


def plain_epoch(head, optimizer, data: Data, generator: torch.Generator) -> float:
    """One epoch on the cached features, shuffled by ``generator`` (slicing a tensor: a
    DataLoader's per-item collation costs more than the head's whole step here)."""
    features, labels = torch.from_numpy(data.features["train"]), data.labels["train"]
    order = torch.randperm(len(labels), generator=generator)
    total = sum(_step(head, optimizer, features[i], labels[i]) for i in order.split(BATCH_SIZE))
    return total / len(labels)


def augmented_epoch(head, optimizer, data: Data, extractor, generator: torch.Generator) -> float:
    """One epoch on augmented images: the frozen backbone runs on every augmented batch."""
    from tqdm import tqdm

    order = torch.randperm(len(data.labels["train"]), generator=generator)
    total = 0.0
    for i in tqdm(
        range(0, len(order), BATCH_SIZE), desc="augmented", unit="batch", leave=False, disable=None
    ):
        idx = order[i : i + BATCH_SIZE]
        f = torch.from_numpy(extractor(ct.augment(data.pixels["train"][idx])))
        total += _step(head, optimizer, f, data.labels["train"][idx])
    return total / len(order)


def train_head(data: Data, lr: float, inner_size: int, dropout: float, epochs: int):
    """A fresh head trained ``epochs`` on the cached features: (head, optimizer, the shuffling
    generator, history), so training can continue where it stopped."""
    seed_everything()
    n_features = data.features["train"].shape[1]
    head = ct.make_head(n_features, inner_size, dropout, len(ct.CLASSES))
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(SEED)
    history = []
    for epoch in range(1, epochs + 1):
        loss = plain_epoch(head, optimizer, data, generator)
        history.append(record(epoch, "plain", loss, head, data))
    return head, optimizer, generator, history


def record(epoch, phase, loss, head, data) -> dict:
    val_loss, val_acc = evaluate(head, data.features["validation"], data.labels["validation"])
    return {
        "epoch": epoch,
        "phase": phase,
        "loss": round(loss, 4),
        "val_loss": round(val_loss, 4),
        "val_accuracy": round(val_acc, 4),
    }


def sweep(data: Data, param: str, values, epochs: int, **fixed) -> list[dict]:
    """Step 2: one fresh head per value; rows of value, best val accuracy and its epoch."""
    rows = []
    for value in values:
        hp = {"lr": 0.001, "inner_size": 0, "dropout": 0.0, **fixed, param: value}
        _, _, _, history = train_head(data, epochs=epochs, **hp)
        accs = [h["val_accuracy"] for h in history]
        best = int(np.argmax(accs))
        rows.append(
            {
                param: value,
                "best_val_accuracy": accs[best],
                "best_epoch": best + 1,
                "val_accuracy": accs,
            }
        )
        log.info("%s=%s: best val accuracy %.4f", param, value, accs[best])
    return rows


def best_of(rows: list[dict], param: str):
    """The value with the highest best val accuracy (the first one on ties)."""
    return max(rows, key=lambda r: r["best_val_accuracy"])[param]


def linear_probe(data: Data, random_extractor, n_train: int) -> dict:
    """Logistic regression on standardised features of ``n_train`` training images, with the
    pretrained and with random backbone weights: what pretraining is worth."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    idx = np.random.default_rng(SEED).permutation(len(data.labels["train"]))[:n_train]
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


# ---------------------------------------------------------------- checkpoint, export


def save_checkpoint(path, model: nn.Module, epoch: int, val_accuracy: float, config: dict):
    with fileio.atomic_path(path) as tmp:
        torch.save(
            {
                "state_dict": model.state_dict(),
                "epoch": epoch,
                "val_accuracy": val_accuracy,
                "config": config,
                "classes": list(ct.CLASSES),
            },
            tmp,
        )


def load_checkpoint(path, backbone: ct.Backbone | None = None):
    """(model, checkpoint dict); the backbone's weights come from the checkpoint itself."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    cfg = ckpt["config"]
    backbone = backbone or ct.load_backbone(cfg["backbone"], pretrained=False)
    head = ct.make_head(cfg["n_features"], cfg["inner_size"], cfg["dropout"], len(ckpt["classes"]))
    model = ct.ClothingModel(backbone.features, head)
    model.load_state_dict(ckpt["state_dict"], strict=True)
    return model.eval(), ckpt


def export_checked(model: nn.Module, x: torch.Tensor) -> tuple[bytes, float]:
    """Step 4: the whole model as ONNX, checked against PyTorch on ``x`` (normalised images)."""
    import onnxruntime as ort

    proto = export_onnx_bytes(model, x[:1])
    session = ort.InferenceSession(proto, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(x).numpy()
    diff = float(np.abs(session.run(None, {ct.INPUT_NAME: x.numpy()})[0] - ref).max())
    if not diff <= ct.ONNX_TOLERANCE:
        raise ZoomcampError(f"ONNX Runtime and PyTorch disagree: max |logit diff| {diff:.3g}")
    return proto, diff
