"""Local models: ONNX Runtime adapters, model packages on disk, a cache, the default models."""
