"""09-serverless serving 08's clothing model (issue 19, the 09 workshop): ``build.py --model
clothing``'s copy of the export, the handler imported as Lambda imports it, and its answers
against 08's PyTorch model (the trusted reference: the checkpoint, 08's own decoding and
normalisation, ``torch.softmax``) on every image of the clothing test split.

The model is this run's fast clothing model (``clothing_torch_model``: the real frozen
EfficientNet-Lite0 and a head trained on a few images): what is compared is the serving
path (metadata, preprocessing, ONNX Runtime, softmax), not the head's accuracy.
"""

from __future__ import annotations

import base64
import json
import shutil

import numpy as np
import pytest
import service_files
import torch
from lambda_events import load_handler
from PIL import Image

from zoomcamp import artifacts, paths
from zoomcamp.clothing import data as cdata
from zoomcamp.clothing import features_torch as ft
from zoomcamp.clothing import model_torch as mt
from zoomcamp.clothing import train_torch as tt
from zoomcamp.errors import ZoomcampError
from zoomcamp.hair import model_torch as hair_torch

# the tests on a model are slow: the session fixture trains the fast clothing model
slow = pytest.mark.slow

build = service_files.load("09-serverless", "build")
hl = service_files.load("09-serverless", "hair_lambda")
client = service_files.load("09-serverless", "test")

PROB_TOL = 1e-5  # max |probability difference| per class, handler vs PyTorch
LOGIT_TOL = 1e-4  # max |logit difference|, as 08's ONNX check (ft.ONNX_TOLERANCE)


@pytest.fixture(scope="module")
def context(clothing_torch_model, tmp_path_factory):
    """The build context ``build.py --model clothing`` makes, in a scratch folder."""
    return build.prepare_context(tmp_path_factory.mktemp("clothing-lambda"), clothing_torch_model)


@pytest.fixture(scope="module")
def lf(context):
    """``lambda_function`` imported on the served clothing model, found as in the image:
    by the metadata in the task root."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MODEL_PATH", raising=False)
        mp.setenv("LAMBDA_TASK_ROOT", str(context / "model"))
        path = hl.default_model_path()
    assert path == context / "model" / ft.ONNX_FILE
    return load_handler(path)


@pytest.fixture(scope="module")
def reference(clothing_torch_model):
    """08's PyTorch model on every test image: (root, items, logits, probabilities)."""
    model, backbone, _ = mt.load_trained(clothing_torch_model / mt.CHECKPOINT_FILE)
    root = cdata.data_root()
    items = cdata.list_split(root, "test")
    pixels, _ = mt.load_pixels(root, items)
    # channels-last: PyTorch's depthwise convolutions on CPU run faster in it (same numbers)
    model = model.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        x = [
            mt.normalise(b, backbone).contiguous(memory_format=torch.channels_last)
            for b in pixels.split(64)
        ]
        logits = torch.cat([model(b) for b in x])
    return root, items, logits.double().numpy(), torch.softmax(logits.double(), 1).numpy()


@slow
def test_the_handler_answers_like_pytorch_on_every_test_image(lf, reference):
    root, items, logits, probs = reference
    assert len(items) == len(list(root.glob("test/*/*"))) >= 300
    top_mismatch, worst_p, worst_z = [], 0.0, 0.0
    for (rel, _), z, p in zip(items, logits, probs, strict=True):
        event = {"image_b64": base64.b64encode((root / rel).read_bytes()).decode()}
        got = lf.lambda_handler(event, None)
        assert list(got["probabilities"]) == list(cdata.CLASSES), got
        if got["label"] != cdata.CLASSES[int(np.argmax(z))]:
            top_mismatch.append(rel)
        worst_p = max(worst_p, float(np.abs(list(got["probabilities"].values()) - p).max()))
        worst_z = max(worst_z, float(np.abs(list(got["logits"].values()) - z).max()))
    assert not top_mismatch, top_mismatch
    assert worst_p <= PROB_TOL and worst_z <= LOGIT_TOL, (worst_p, worst_z)


@slow
def test_the_classifier_object_answers_like_the_handler(lf, context, reference):
    """``HairClassifier`` (the notebook's and homework's object) serves the clothing model
    too: the same answer as the handler for the first test image."""
    root, items, _, _ = reference
    path = root / items[0][0]
    got = hl.HairClassifier(context / "model" / ft.ONNX_FILE).predict(Image.open(path))
    event = {"image_b64": base64.b64encode(path.read_bytes()).decode()}
    assert got == lf.lambda_handler(event, None)


@slow
def test_the_served_metadata_is_the_export_and_its_interface(context, clothing_torch_model):
    source = artifacts.verify(clothing_torch_model)
    served = hl.read_metadata(context / "model")  # the handler's own reader: digests checked
    assert served["files"] == {ft.ONNX_FILE: source["files"][ft.ONNX_FILE]}
    assert served["source"] == {"name": tt.NAME, "files": source["files"]}
    assert served["classes"] == list(cdata.CLASSES) and served["output"] == "logits"
    assert (served["input_name"], served["output_name"]) == (ft.INPUT_NAME, ft.OUTPUT_NAME)
    assert served["preprocessing"] == source["preprocessing"]
    backbone = mt.load_backbone(source["config"]["backbone"], pretrained=False)
    assert source["preprocessing"] == mt.preprocessing(backbone)
    assert sorted(p.name for p in (context / "model").iterdir()) == [ft.ONNX_FILE, "metadata.json"]


@slow
def test_a_hair_context_becomes_a_clothing_one_without_stale_files(tmp_path, clothing_torch_model):
    ctx = tmp_path / "ctx"
    build.write_tiny_model(tmp_path / "tiny")  # a hair model folder, copied in by hand
    shutil.copytree(tmp_path / "tiny", ctx / "model")
    assert (ctx / "model" / "hair_classifier.onnx").is_file()
    build.prepare_context(ctx, clothing_torch_model)
    assert sorted(p.name for p in (ctx / "model").iterdir()) == [ft.ONNX_FILE, "metadata.json"]


@slow
def test_the_handler_refuses_classes_that_do_not_fit_the_graph(context, tmp_path, monkeypatch):
    folder = tmp_path / "model"
    shutil.copytree(context / "model", folder)
    meta = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**meta, "classes": meta["classes"][:9]}))
    monkeypatch.setenv("MODEL_PATH", str(folder / ft.ONNX_FILE))
    with pytest.raises(ValueError, match=r"output shape \['N', 10\], expected \[N, 9\]"):
        hl.load_session(hl.default_model_path())


@slow
def test_a_clothing_folder_without_its_onnx_record_is_refused(clothing_torch_model, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(clothing_torch_model, folder)
    meta = json.loads((folder / "metadata.json").read_text())
    del meta["onnx"]["output_name"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ZoomcampError, match="lacks"):
        build.prepare_context(tmp_path / "ctx", folder)


def test_test_py_sends_the_workshops_pants_image():
    event = client.event_for(None, None, clothing=True)
    pants = cdata.data_root() / client.PANTS_IMAGE
    assert base64.b64decode(event["image_b64"]) == pants.read_bytes()
    assert client.PANTS_IMAGE.startswith("test/pants/")


def test_build_ships_each_model_under_its_own_tag():
    assert build.source_model_dir(build.CLOTHING) == paths.model_dir(tt.NAME)
    assert build.source_model_dir("pytorch-fp32") == paths.model_dir(hair_torch.ONNX_FP32_NAME)
    assert build.TAGS[build.CLOTHING] == "clothing-classifier:v1" != build.TAG


def test_the_default_model_is_the_onnx_file_the_metadata_lists(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_PATH", raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    (tmp_path / "model").mkdir()
    files = {"files": {"clothing-torch.onnx": "0" * 64, "clothing-torch.onnx.data": "1" * 64}}
    (tmp_path / "model" / "metadata.json").write_text(json.dumps(files))
    assert hl.default_model_path() == tmp_path / "model" / "clothing-torch.onnx"
    (tmp_path / "hair_classifier.onnx").write_bytes(b"x")  # the task root comes first
    assert hl.default_model_path() == tmp_path / "hair_classifier.onnx"
    for bad in ('{"files": {"a.onnx": "0", "b.onnx": "1"}}', "{not json", "[]"):
        (tmp_path / "metadata.json").write_text(bad)
        with pytest.raises(ValueError, match="lists no single .onnx file"):
            hl.default_model_path()
