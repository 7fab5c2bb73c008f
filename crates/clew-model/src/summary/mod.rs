//! Trace info as MLflow fills it: previews, trace inputs/outputs metadata, token usage, size stats.
