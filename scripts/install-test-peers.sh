#!/usr/bin/env bash
# Installs what zonesync's test suite talks to, when it is missing: BIND 9 (named, dig,
# tsig-keygen), Knot DNS, moto_server (Route53 emulator) and helm-python-sdk (Helm's Go SDK, which
# lints and renders the chart; no helm binary is needed) in .venv-peers/, and the C++ compiler
# the fuzz smoke run needs to build libFuzzer.
# Safe to run again: it only installs what is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(bind9 bind9-dnsutils bind9-utils knot knot-dnsutils python3-venv g++)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv-peers/bin/moto_server ]; then
  echo "installing moto_server into .venv-peers/"
  python3 -m venv .venv-peers
  .venv-peers/bin/pip install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
fi
if ! .venv-peers/bin/python -c 'import helm_python' 2>/dev/null; then
  echo "installing helm-python-sdk into .venv-peers/"
  .venv-peers/bin/pip install --quiet --disable-pip-version-check 'helm-python-sdk>=0.2.2,<0.3'
fi
echo "test peers ready: $(named -v 2>/dev/null | head -1); knotd $(knotd -V 2>/dev/null | awk '{print $NF}'); moto $(.venv-peers/bin/python -c 'import moto; print(moto.__version__)'); helm SDK $(.venv-peers/bin/python -c 'import helm_python; print(helm_python.helm_sdk_version())')"
