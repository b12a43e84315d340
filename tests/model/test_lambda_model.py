"""09-serverless: the Lambda function computes what 08-deep-learning's models compute (Keras
export below; the PyTorch export, which the image ships by default, at the end).

The model comes the way the image gets it: 08's ``train_keras.py`` and ``export_keras.py`` write
``models/hair-keras/`` and ``models/hair-keras-onnx/`` (the scratch models folder, fast settings; reused
while it verifies), and 09's build step copies the export into a build context.

- preprocessing, configured only from the export's ``metadata.json``, equals 08's
  ``hair.load_image`` on every real hair test image;
- the handler's ONNX predictions equal the Keras model's within 1e-4; when the repo's full
  model and its export exist, they are compared too;
- a model file that does not match its metadata is refused before it is loaded.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import subprocess
import sys
import uuid

import numpy as np
import pytest
import service_files
from PIL import Image

from zoomcamp import artifacts, datasets, paths
from zoomcamp.hair import data as hair
from zoomcamp.hair import model_keras as hair_model
from zoomcamp.hair import model_torch as hair_torch

pytestmark = pytest.mark.slow  # trains and exports quick models (~3 min)

hl = service_files.load("09-serverless", "hair_lambda")
pre = sys.modules[hl.Preprocessing.__module__]  # preprocess.py, as the handler imports it
build = service_files.load("09-serverless", "build")
DL = paths.module_dir("08-deep-learning")


def handler(onnx_path):
    """``lambda_function`` imported as Lambda imports it, on this model (``MODEL_PATH``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_PATH", str(onnx_path))
        path = paths.module_dir("09-serverless") / "lambda_function.py"
        spec = importlib.util.spec_from_file_location(f"lf_{uuid.uuid4().hex}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.lambda_handler


def inline(path) -> dict:
    return {"image_b64": base64.b64encode(path.read_bytes()).decode()}


@pytest.fixture(scope="module")
def test_images():
    root = datasets.unpack("hair-type") / "data" / "test"
    return sorted(p for p in root.glob("*/*") if p.is_file())  # .jpg, .jpeg, .png, .PNG


def _run(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(DL / script)],
        cwd=paths.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(Keras model folder, ONNX path in a build context) of 08's own pipeline."""
    keras_dir = paths.model_dir(hair_model.NAME)
    onnx_dir = paths.model_dir(hair_model.ONNX_NAME)
    try:
        source = artifacts.verify(onnx_dir)["source"]
        if source["files"] != artifacts.verify(keras_dir)["files"]:
            raise artifacts.ArtifactError("the export is not from the current Keras model")
    except artifacts.ArtifactError:
        _run("train_keras.py")
        _run("export_keras.py")
    context = build.prepare_context(tmp_path_factory.mktemp("lambda-context"), onnx_dir)
    return keras_dir, context / "model" / hair_model.ONNX_FILE


@pytest.fixture(scope="module")
def preprocess(exported):
    return pre.Preprocessing(hl.read_metadata(exported[1].parent))


def test_preprocessing_from_metadata_equals_08_on_every_test_image(preprocess, test_images):
    assert len(test_images) == 201
    worst = 0.0
    for path in test_images:
        ours = preprocess(pre.open_image(path.read_bytes()))
        assert ours.shape == (1, 3, 200, 200) and ours.dtype == np.float32
        assert ours.flags["C_CONTIGUOUS"]
        ref = hair.load_image(path)
        assert ref.shape == (200, 200, 3)
        worst = max(worst, float(np.max(np.abs(ours[0] - ref.transpose(2, 0, 1)))))
    assert worst <= 1e-6


@pytest.mark.parametrize(
    "fmt, mode", [("GIF", "P"), ("PNG", "RGBA"), ("PNG", "L"), ("WEBP", "RGB"), ("BMP", "RGB")]
)
def test_preprocessing_from_metadata_equals_08_on_other_formats(preprocess, tmp_path, fmt, mode):
    rng = np.random.default_rng(0)
    frames = [
        Image.fromarray(rng.integers(0, 256, (150, 260, 3), dtype=np.uint8)).convert(mode)
        for _ in range(2)
    ]
    path = tmp_path / f"img.{fmt.lower()}"
    frames[0].save(
        path,
        format=fmt,
        **({"save_all": True, "append_images": frames[1:]} if fmt == "GIF" else {}),
    )
    ours = preprocess(pre.open_image(path.read_bytes()))[0]
    assert np.max(np.abs(ours - hair.load_image(path).transpose(2, 0, 1))) <= 1e-6


def test_preprocessing_follows_the_metadata(exported, tmp_path):
    """Another size in the metadata gives another tensor: nothing is hard-wired."""
    meta = hl.read_metadata(exported[1].parent)
    record = {**meta["preprocessing"], "size": [64, 32]}
    x = pre.Preprocessing({**meta, "preprocessing": record})(
        Image.new("RGB", (10, 10), (255, 0, 0))
    )
    assert x.shape == (1, 3, 32, 64)
    with pytest.raises(ValueError, match="preprocessing"):
        pre.Preprocessing({**meta, "preprocessing": {**record, "resample": "lanczos-9"}})


def _compare_with_keras(keras_dir, onnx_path, images):
    model, _ = hair_model.load_model(keras_dir)
    lambda_handler = handler(onnx_path)
    x = np.stack([hair.load_image(p) for p in images])
    keras_logits = model.predict(x, verbose=0).reshape(-1).astype(np.float64)
    answers = [lambda_handler(inline(p), None) for p in images]
    logits = np.array([a["logit"] for a in answers])
    probs = np.array([a["prediction"] for a in answers])
    assert np.max(np.abs(logits - keras_logits)) <= 1e-4
    assert np.max(np.abs(probs - 1 / (1 + np.exp(-keras_logits)))) <= 1e-4
    assert [a["label"] for a in answers] == [
        "straight" if z >= 0 else "curly" for z in keras_logits
    ]
    return keras_logits


def test_handler_predictions_equal_keras(exported, test_images):
    logits = _compare_with_keras(*exported, test_images[::12])  # both classes
    assert np.ptp(logits) > 0  # not a constant model


def test_batch_of_images_through_onnx(exported, test_images):
    clf = hl.HairClassifier(exported[1])
    xs = [clf.preprocess(pre.open_image(p.read_bytes())) for p in test_images[:5]]
    batch = clf.logits(np.concatenate(xs))
    single = np.array([clf.logits(x)[0] for x in xs])
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-5)


def test_a_model_not_matching_its_metadata_is_refused(exported, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(exported[1].parent, folder)
    onnx_path = folder / hair_model.ONNX_FILE
    with open(onnx_path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ValueError, match="sha256"):
        hl.HairClassifier(onnx_path)
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "schema": "other/9"}))
    with pytest.raises(ValueError, match="zoomcamp-model/1"):
        hl.HairClassifier(onnx_path)
    (folder / "metadata.json").unlink()
    with pytest.raises(FileNotFoundError, match="metadata.json"):
        hl.HairClassifier(onnx_path)


def test_repo_model_equals_its_keras_source(test_images):
    keras_dir = paths.REPO_ROOT / "models" / hair_model.NAME
    onnx_dir = paths.REPO_ROOT / "models" / hair_model.ONNX_NAME
    try:
        source = artifacts.verify(onnx_dir, check_versions=False)["source"]
        current = source["files"] == artifacts.verify(keras_dir)["files"]
    except artifacts.ArtifactError:
        pytest.skip("no full model exported yet (uv run zoomcamp reproduce 08)")
    if not current:
        pytest.skip("the exported model is not from the current Keras model (export again)")
    _compare_with_keras(keras_dir, onnx_dir / hair_model.ONNX_FILE, test_images[::4])


# ---------------------------------------------------------------- the PyTorch export (default)


@pytest.fixture(scope="module")
def torch_exported(hair_torch_onnx, tmp_path_factory):
    """(PyTorch model folder, ONNX path in a build context made by 09's default build)."""
    assert build.source_model_dir() == hair_torch_onnx  # the image ships PyTorch by default
    context = build.prepare_context(tmp_path_factory.mktemp("lambda-torch"))
    return paths.model_dir(hair_torch.NAME), context / "model" / hair_torch.ONNX_FILE


def _torchvision_input(path) -> np.ndarray:
    """The homework's own transforms on the PIL image: an independent path to the input."""
    from torchvision import transforms as T

    with Image.open(path) as img:
        img.seek(0)
        rgb = img.convert("RGB")
        x = T.Compose(
            [T.Resize((200, 200)), T.ToTensor(), T.Normalize(hair.MEAN_VALUES, hair.STD_VALUES)]
        )(rgb)
    return x.numpy()


def test_pytorch_export_interface(torch_exported):
    import onnxruntime as ort

    _, onnx_path = torch_exported
    meta = hl.read_metadata(onnx_path.parent)
    assert meta["preprocessing"]["resample"] == "bilinear"
    assert meta["framework"] == "pytorch"
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, out.name, out.shape) == (
        "input",
        ["N", 3, 200, 200],
        "output",
        ["N", 1],
    )
    batch = np.zeros((3, 3, 200, 200), np.float32)
    assert session.run(None, {"input": batch})[0].shape == (3, 1)  # dynamic batch


def test_handler_serves_the_pytorch_export(torch_exported, test_images):
    import torch

    torch_dir, onnx_path = torch_exported
    model, _ = hair_torch.load_model(torch_dir)
    lambda_handler = handler(onnx_path)
    images = test_images[::20]  # both classes
    x = np.stack([_torchvision_input(p) for p in images])
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy().reshape(-1).astype(np.float64)
    answers = [lambda_handler(inline(p), None) for p in images]
    logits = np.array([a["logit"] for a in answers])
    assert np.max(np.abs(logits - expected)) <= 1e-4
    assert [a["label"] for a in answers] == ["straight" if z >= 0 else "curly" for z in expected]


def test_repo_pytorch_export_equals_its_source(test_images):
    import torch

    torch_dir = paths.REPO_ROOT / "models" / hair_torch.NAME
    onnx_dir = paths.REPO_ROOT / "models" / hair_torch.ONNX_NAME
    try:
        source = artifacts.verify(onnx_dir, check_versions=False)["source"]
        current = source["files"] == artifacts.verify(torch_dir)["files"]
    except artifacts.ArtifactError:
        pytest.skip("no full PyTorch model exported yet (uv run zoomcamp reproduce 08)")
    if not current:
        pytest.skip("the exported model is not from the current PyTorch model (export again)")
    model, _ = hair_torch.load_model(torch_dir)
    clf = hl.HairClassifier(onnx_dir / hair_torch.ONNX_FILE)
    images = test_images[::8]
    x = np.stack([_torchvision_input(p) for p in images])
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy().reshape(-1)
    got = np.array([clf.predict(pre.open_image(p.read_bytes()))["logit"] for p in images])
    assert np.max(np.abs(got - expected)) <= 1e-4
