"""Shared helpers of the ml-zoomcamp monorepo: paths, datasets, reports, homework answers."""

__version__ = "0.1.0"
