#!/usr/bin/env bash
# One command for the benchmark against urlwatch, changedetection.io and a
# plain curl fetch: installs what is missing (nginx, GNU time, curl,
# python3-venv, a venv with urlwatch 2.29 and, with --with-changedetection,
# one with changedetection.io 0.60.10), builds scopewatch in release mode, and
# runs bench/bench.py, which prints the table.
#
#   bench/run.sh [--pages N (1000)] [--runs N (5)] [--concurrency N (8)]
#                [--history N (50)] [--peer-history N] [--history-years 1,3]
#                [--slow-runs N] [--scale-runs N] [--export-days N] [--no-idle]
#                [--workdir DIR] [--with-changedetection]
#
# Everything it serves and fetches is on 127.0.0.1. See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; esac

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/bin/time ] || missing+=(time)
command -v curl >/dev/null || missing+=(curl)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian's package may start a system nginx on port 80; this bench runs its own.
  $sudo service nginx stop >/dev/null 2>&1 || true
fi
export PATH="$PATH:/usr/sbin"

venv="${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/scopewatch-bench/venv}"
if ! "$venv/bin/urlwatch" --version 2>/dev/null | grep -q '^urlwatch 2\.29'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'urlwatch==2.29'
fi

# changedetection.io only when asked: its install is large (about 700 MB: Flask,
# lxml, numpy, litellm...) and its passes are slow.
cdio_args=()
for arg in "$@"; do
  if [ "$arg" = --with-changedetection ]; then
    cdio="${BENCH_CDIO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/scopewatch-bench/cdio}"
    if ! "$cdio/bin/changedetection.py" --version 2>/dev/null | grep -q '^changedetection\.io 0\.60\.10$'; then
      python3 -m venv "$cdio"
      "$cdio/bin/pip" install -q 'changedetection.io==0.60.10'
    fi
    cdio_args=(--changedetection-venv "$cdio")
  fi
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet --bin scopewatch --example history --example parse_floor
release="$CARGO_TARGET_DIR/release"
exec python3 bench/bench.py --scopewatch "$release/scopewatch" \
  --history-generator "$release/examples/history" --parse-floor "$release/examples/parse_floor" \
  --urlwatch-venv "$venv" "${cdio_args[@]}" "$@"
