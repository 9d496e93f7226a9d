#!/usr/bin/env bash
# Install Debian packages the product or the tests need, when their command is missing:
#   scripts/system-packages.sh [--required] COMMAND=PACKAGE...
# Uses apt-get as root (or through password-less sudo). Without --required a package that cannot be installed
# is a warning (the product runs without it and says what is missing); with --required it is an error.
set -euo pipefail
required=0
if [[ "${1:-}" == "--required" ]]; then required=1; shift; fi
missing=()
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else sudo=(none); fi
if [[ "${sudo[*]}" != "none" ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (apt-get)" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null && exit 0
fi
echo "could not install ${missing[*]}: install them with your package manager (apt install ${missing[*]})" >&2
exit $(( required ))
