#!/usr/bin/env bash
# Configure and build Portcullis into build/ (Ninja, -j2 on these 2-core
# machines). Extra arguments go to the CMake configure step.
#
# Usage: scripts/build.sh [-DCMAKE_BUILD_TYPE=Release ...]
set -euo pipefail
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$SCRIPTS_DIR/.." && pwd -P)

jobs=${PORTCULLIS_BUILD_JOBS:-2}
cmake -S "$REPO" -B "$REPO/build" -G Ninja "$@" >/dev/null
cmake --build "$REPO/build" -j "$jobs"
