#!/usr/bin/env bash
# Installs every Debian package SES needs to build and test, and nothing else.
# Idempotent: apt-get runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libssl-dev openssl
  libboost-dev libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev   # libFuzzer for SES_FUZZ=ON
  libp11-kit-dev             # PKCS#11 headers and RFC 7512 URI parsing
  softhsm2 opensc            # the SoftHSM2 test rig and pkcs11-tool
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # sesd wire
  libspdlog-dev libsqlite3-dev nlohmann-json3-dev                     # sesd logs, store
  prometheus                 # promtool, to check /metrics in tests
  python3-grpcio python3-protobuf  # the Python client test (Debian's /usr/bin/python3)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
