#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment the compatibility tests use: the real
# `mlflow` client and server from PyPI (pinned) and the OpenTelemetry SDK with its OTLP
# exporter. Prints the environment's directory. Idempotent: a complete venv is reused.
set -euo pipefail
VENV="${CLEW_PYTHON_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv}"
MLFLOW_VERSION="3.17.2"
OTEL_PACKAGES=(opentelemetry-sdk opentelemetry-exporter-otlp-proto-http)
stamp="$VENV/.clew-requirements"
want="mlflow==$MLFLOW_VERSION ${OTEL_PACKAGES[*]}"
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$VENV"
    exit 0
fi
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" "${OTEL_PACKAGES[@]}" >&2
echo "$want" > "$stamp"
echo "$VENV"
