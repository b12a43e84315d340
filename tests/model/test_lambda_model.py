"""09-serverless: the Lambda function computes what 08-deep-learning's models compute (Keras
export below; the PyTorch export, which the image ships by default, at the end).

The model comes the way the image gets it: 08's ``train_keras.py`` and ``export_keras.py`` write
``models/hair-keras/`` and ``models/hair-keras-onnx/`` (the session fixtures of ``conftest.py``:
the scratch models folder, fast settings, once per run), and 09's build step copies the export
into a build context.

- preprocessing, configured only from the export's ``metadata.json``, equals 08's
  ``hair.load_image`` on every real hair test image (JPEG draft decoding, when allowed, stays
  within a pixel level on average);
- the handler's ONNX predictions equal the Keras model's within 1e-4 (the PyTorch export's:
  within 1e-4 plus the int8 difference its metadata records); when the repo's full
  model and its export exist, they are compared too;
- a model file that does not match its metadata is refused before it is loaded.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
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


def handler(onnx_path):
    """``lambda_function`` imported as Lambda imports it, on this model (``MODEL_PATH``),
    with 08's exact preprocessing even where the metadata allows JPEG draft decoding (that
    departure is measured on its own below)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODEL_PATH", str(onnx_path))
        path = paths.module_dir("09-serverless") / "lambda_function.py"
        spec = importlib.util.spec_from_file_location(f"lf_{uuid.uuid4().hex}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    module.preprocess = pre.Preprocessing(module.metadata, draft=False)
    return module.lambda_handler


def inline(path) -> dict:
    return {"image_b64": base64.b64encode(path.read_bytes()).decode()}


@pytest.fixture(scope="module")
def test_images():
    root = datasets.unpack("hair-type") / "data" / "test"
    return sorted(p for p in root.glob("*/*") if p.is_file())  # .jpg, .jpeg, .png, .PNG


@pytest.fixture(scope="module")
def exported(hair_keras_model, hair_keras_onnx, tmp_path_factory):
    """(Keras model folder, ONNX path in a build context) of 08's own pipeline: the session
    fixtures train and export once per run, shared with the other tests that need them."""
    context = build.prepare_context(tmp_path_factory.mktemp("lambda-context"), hair_keras_onnx)
    return hair_keras_model, context / "model" / hair_model.ONNX_FILE


@pytest.fixture(scope="module")
def preprocess(exported):
    """08's exact preprocessing: no JPEG draft decoding, whatever the metadata allows; its
    float32 memoryview read as a NumPy array."""
    exact = pre.Preprocessing(hl.read_metadata(exported[1].parent), draft=False)
    return lambda img: np.asarray(exact(img))


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


def test_draft_decoding_stays_close_to_08_on_every_test_image(torch_exported, test_images):
    """With ``jpeg_draft``, the JPEGs at least twice the input size are decoded at reduced
    scale: with the PyTorch export's bilinear resize the pixels move by well under one level
    on average (README: 0.38; a NEAREST resize, the Keras export's, moves them by 2.2)."""
    meta = hl.read_metadata(torch_exported[1].parent)
    assert meta["preprocessing"]["resample"] == "bilinear"
    exact, draft = (pre.Preprocessing(meta, draft=d) for d in (False, True))
    means, reduced = [], 0
    for path in test_images:
        img = pre.open_image(path.read_bytes())
        full_size = img.size
        b = np.asarray(draft.resized(img), dtype=np.int16)
        reduced += img.size != full_size
        a = np.asarray(exact.resized(pre.open_image(path.read_bytes())), dtype=np.int16)
        means.append(np.abs(a - b).mean())
    assert reduced >= 100  # most hair test images are at least 400 px on both sides
    assert np.mean(means) < 1.0 and max(means) < 4.0


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


def _tolerance(meta: dict) -> float:
    """1e-4 for a plain export; an optimised (int8) one adds the largest logit difference
    from its fp32 graph that 08 measured on the test images (its metadata)."""
    return 1e-4 + float(meta.get("metrics", {}).get("max_abs_logit_diff_vs_fp32", 0.0))


def test_handler_serves_the_pytorch_export(torch_exported, test_images):
    import onnxruntime as ort
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
    # the handler runs this very file as ONNX Runtime does on torchvision's input...
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    # one image a run: an int8 graph quantises its activations per run (per batch)
    same_file = np.array(
        [session.run(None, {"input": x[i : i + 1]})[0][0, 0] for i in range(len(x))]
    )
    assert np.max(np.abs(logits - same_file)) <= 1e-4
    # ...and agrees with PyTorch as closely as the export says it does
    tol = _tolerance(hl.read_metadata(onnx_path.parent))
    assert np.max(np.abs(logits - expected)) <= tol
    sure = np.abs(expected) > tol  # a decision only the quantisation could tip is not checked
    labels = np.array([a["label"] for a in answers])
    assert sure.any()
    assert list(labels[sure]) == ["straight" if z >= 0 else "curly" for z in expected[sure]]


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
    clf.preprocess = pre.Preprocessing(clf.meta, draft=False)  # torchvision's exact input
    images = test_images[::8]
    x = np.stack([_torchvision_input(p) for p in images])
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy().reshape(-1)
    got = np.array([clf.predict(pre.open_image(p.read_bytes()))["logit"] for p in images])
    assert np.max(np.abs(got - expected)) <= _tolerance(clf.meta)
