#!/usr/bin/env bash
# Install on a fresh machine (Python 3.11 + pip), index seeds/ and start the chat UI.
# Pass a question to answer it on the command line instead: bash scripts/run.sh "Who ...?"
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q -e .
.venv/bin/rag index
if [ $# -gt 0 ]; then
  exec .venv/bin/rag ask "$@"
fi
if [ -f app.py ]; then
  exec .venv/bin/python app.py
fi
exec .venv/bin/rag ask "When did Aliyev and Putin sign the declaration on allied interaction, and where?"
