#!/usr/bin/env bash
# Run every test: installs dependencies, builds everything, runs CTest
# (dissector through tshark, extcap, kernel module and captures in the
# QEMU lab). Usage (as root, on Debian 12): scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
cd build
# Lab tests boot QEMU guests and take a CPU each: they share one lock, so
# -j2 runs host tests beside at most one guest.
ctest --output-on-failure -j2 "$@"
