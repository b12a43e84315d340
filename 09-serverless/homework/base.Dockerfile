# A local stand-in for the course's agrigorev/model-2025-hairstyle:v1, for the tests only:
# the same base (public.ecr.aws/lambda/python:3.13) and model path, but a tiny plain ONNX
# model (same interface: input [N, 3, 200, 200] -> output [N, 1]) in one file, not the
# course's hair_classifier_empty.onnx + .onnx.data. The context holds that file, written
# and checked by tests/services/test_lambda_course_image.py.
FROM public.ecr.aws/lambda/python:3.13
COPY hair_classifier_empty.onnx ./
