#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with a Rust toolchain.
# Idempotent: each step is skipped when its tool is already there.
set -euo pipefail

need_apt=()
apt_want() { dpkg -s "$1" >/dev/null 2>&1 || need_apt+=("$1"); }
# A C compiler: blst (KZG) and the c-kzg reference used by differential tests are built from C.
apt_want build-essential
# node and npm: the control plane's build compiles NodeRegistry.sol with the npm `solc`, and its
# chain tests run anvil from the npm package `@foundry-rs/anvil-linux-amd64`.
command -v node >/dev/null 2>&1 || apt_want nodejs
command -v npm >/dev/null 2>&1 || apt_want npm

if ((${#need_apt[@]})); then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi

# solc and anvil, pinned by control-plane/contracts/package-lock.json; skipped when installed
# and not older than the lock file.
contracts="$(dirname "$0")/../control-plane/contracts"
if [ ! -x "$contracts/node_modules/.bin/anvil" ] || [ ! -f "$contracts/node_modules/solc/package.json" ] ||
    [ "$contracts/package-lock.json" -nt "$contracts/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$contracts" --no-audit --no-fund
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true
command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
