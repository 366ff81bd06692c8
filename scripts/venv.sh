#!/usr/bin/env bash
# Usage: venv.sh DIR REQUIREMENTS: makes (or remakes, when the pins changed) a Python venv with those pins.
set -euo pipefail
dir="$1" requirements="$2"
if [ ! -x "$dir/bin/python" ] || ! cmp -s "$requirements" "$dir/.requirements.txt"; then
  printf '[setup] creating python venv at %s from %s\n' "$dir" "$(basename "$requirements")" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$dir/.requirements.txt"
fi
