"""The hair model in the course's workshop style (keras-image-helper + ONNX Runtime).

Built by ``09-serverless/bench.py`` as the course-style baseline; not the project's function.
"""

import base64
from io import BytesIO

import numpy as np
import onnxruntime as ort
from keras_image_helper import create_preprocessor
from PIL import Image


def preprocess_pytorch_style(X):
    # X: (1, 200, 200, 3), float32, values 0..255
    X = X / 255.0
    mean = np.array([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
    std = np.array([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
    X = X.transpose(0, 3, 1, 2)  # NHWC -> NCHW
    X = (X - mean) / std
    return X.astype(np.float32)


preprocessor = create_preprocessor(preprocess_pytorch_style, target_size=(200, 200))

session = ort.InferenceSession("hair_classifier.onnx", providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
output_name = session.get_outputs()[0].name


def predict(event):
    if "image_b64" in event:  # the benchmark sends the image inline, as to the project's
        img = Image.open(BytesIO(base64.b64decode(event["image_b64"])))
        X = preprocessor.convert_to_tensor(img)
    else:
        X = preprocessor.from_url(event["url"])
    result = session.run([output_name], {input_name: X})
    logit = float(result[0][0][0])
    return {"logit": logit, "prediction": float(1 / (1 + np.exp(-logit)))}


def lambda_handler(event, context):
    return predict(event)
