# A local equivalent of the course's base image agrigorev/zoomcamp-model:2025
# (FROM python:3.13.5-slim-bookworm, WORKDIR /code, pipeline_v2.bin copied in), built on
# the python:3.13-slim available here. homework.py builds it in a scratch context that
# holds the fetched (sha256-checked) pipeline_v2.bin.
FROM python:3.13-slim
WORKDIR /code
COPY pipeline_v2.bin ./
