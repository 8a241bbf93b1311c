#!/usr/bin/env bash
# Create the peers' own virtualenvs (idempotent). They never touch the project's .venv.
#   bench/.venv-mlflow  mlflow==3.17.*
#   bench/.venv-dvc     dvc==3.67.*
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v uv >/dev/null 2>&1; then
    timeout 300 python3 -m pip install --quiet uv
fi

make_venv() {  # DIR MARKER-IMPORT PACKAGES...
    local dir=$1 mod=$2; shift 2
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import $mod, xxhash" >/dev/null 2>&1; then
        echo "setup_peers: $dir ok"
        return
    fi
    echo "setup_peers: creating $dir ($*)"
    timeout 120 uv venv --quiet --allow-existing --python 3.11 "$dir"
    timeout 900 uv pip install --quiet -p "$dir" "$@" xxhash
}

make_venv .venv-mlflow mlflow "mlflow==3.17.*"
make_venv .venv-dvc dvc "dvc==3.67.*"
