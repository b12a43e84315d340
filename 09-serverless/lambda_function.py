"""An image classifier on AWS Lambda: ``lambda_function.lambda_handler``, the image's CMD.

    python 09-serverless/test.py     # against the running container (README)

event -> image -> preprocess -> model -> answer. The ONNX Runtime session is created once,
when Lambda imports this file (the cold start); warm calls reuse it. Beside this file:
``events.py`` (direct or API Gateway events, the answer's form), ``fetch.py`` (limits, the
download, the address policy of ``address_policy.py``), ``preprocess.py`` (decoding, 08's
preprocessing), ``hair_lambda.py`` (the model files, checked against ``metadata.json``, or
a plain ONNX model with its preprocessing in ``PREPROCESSING``; the answer). The same code
serves 08's hair model (one logit) and its clothing model (10 logits, ``build.py --model
clothing``): the metadata says which.
"""

from __future__ import annotations

from typing import Any

from events import BadInput, read_request, respond
from fetch import download
from hair_lambda import answer, default_model_path, load_session
from PIL import Image
from preprocess import Preprocessing, open_image

# cold start: metadata.json checked (schema, sha256 of each file) or, for a plain model, the
# PREPROCESSING configuration read; the session opened once
session, metadata = load_session(default_model_path())
preprocess = Preprocessing(metadata)  # size, resampling, mean/std: as 08 trained
input_name, output_name = metadata["input_name"], metadata["output_name"]


def predict(url_or_image: str | Image.Image) -> dict[str, Any]:
    """The course's ``predict(url)``: an image URL (downloaded) or a Pillow image."""
    if isinstance(url_or_image, str):
        image = open_image(download(url_or_image))
    else:
        image = url_or_image
    x = preprocess(image)  # float32 [1, 3, height, width]
    output = session.run([output_name], {input_name: x})[0][0]  # this image's logit(s)
    # hair: sigmoid(logit) = P(straight); clothing: softmax over the 10 classes' logits
    return answer(output, metadata)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        url_or_image = read_request(event)  # {"url": ...} or {"image_b64": ...}, or in "body"
        return respond(200, predict(url_or_image), event)
    except BadInput as exc:  # the caller's mistake: 400 and what it was
        return respond(400, {"error": str(exc)}, event)
    except Exception as exc:  # anything else: 500, the details only in the log
        print(f"internal error: {type(exc).__name__}: {exc}")  # CloudWatch
        return respond(500, {"error": "internal error"}, event)
