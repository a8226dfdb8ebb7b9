#!/usr/bin/env bash
# Builds the binaries of the local test cluster from the Go module proxy:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd
#     (from the wrapper module in this folder: go.mod pins k8s.io/kubernetes
#     and every staging module), and
#   kwok, kwokctl (go install sigs.k8s.io/kwok/cmd/...@KWOK_VERSION).
#
# Output: ${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}/k8s-<version>/bin/
# Idempotent: a binary that is already built (for the same version) is skipped,
# so a second run takes well under a second. Each binary is linked under a
# temporary name and moved into place, so an interrupted build leaves no half
# binary. A cold build takes 20-35 minutes on 2 cores; with a warm Go build
# cache a minute or two.
#
# Usage: tests/cluster/build.sh [--print-bin-dir]
#   --print-bin-dir  only print the bin directory and exit.
# The last line printed is always "bin: <dir>".
set -euo pipefail

KUBE_VERSION=v1.35.4   # keep in sync with go.mod (require + replace lines)
ETCD_VERSION=v3.6.5    # what k8s.io/kubernetes@KUBE_VERSION's go.mod requires
KWOK_VERSION=v0.8.0    # built in its own module (it needs newer k8s.io/* libraries)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}"
bin="$cache/k8s-$KUBE_VERSION/bin"

if [[ "${1:-}" == "--print-bin-dir" ]]; then
  echo "$bin"
  exit 0
fi

die() { echo "build.sh: error: $*" >&2; exit 1; }

# name | version stamp | how to build (k8s: package in the wrapper module; etcd; kwok: go install)
targets=(
  "kube-apiserver|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kube-scheduler"
  "kubectl|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kubectl"
  "etcd|$ETCD_VERSION|etcd|go.etcd.io/etcd/server/v3"
  "kwok|$KWOK_VERSION|install|sigs.k8s.io/kwok/cmd/kwok"
  "kwokctl|$KWOK_VERSION|install|sigs.k8s.io/kwok/cmd/kwokctl"
)

is_built() { # name version
  [[ -x "$bin/$1" && -f "$bin/.$1.version" && "$(cat "$bin/.$1.version")" == "$2" ]]
}

missing=()
for t in "${targets[@]}"; do
  IFS='|' read -r name version _ _ <<<"$t"
  is_built "$name" "$version" || missing+=("$name")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "all 7 binaries already built (Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  echo "bin: $bin"
  exit 0
fi

command -v go >/dev/null 2>&1 ||
  die "'go' was not found on PATH. Install Go >= 1.25 (Debian: apt-get install golang-go, or a Go toolchain) and run again."

mkdir -p "$bin"

# One build at a time per cache directory (two test runs may start together).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$bin/.build.lock"
  if ! flock -n 9; then
    echo "another build.sh is building into $bin; waiting for it…"
    flock 9
  fi
fi

export GOFLAGS=-trimpath
export CGO_ENABLED=0 # static binaries, no C toolchain needed (as upstream builds them)
gomaxprocs="${KUBENOTES_BUILD_JOBS:-2}"

start=$SECONDS
echo "building ${#missing[@]} missing binaries into $bin (Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
echo "a cold build takes 20-35 minutes on 2 cores (kube-apiserver is the largest); later runs reuse the Go build cache"

# Fetch every module first so that a missing network gives one clear message.
echo "downloading Go modules…"
dl_log="$(mktemp)"
trap 'rm -f "$dl_log"' EXIT
if ! (cd "$here" && go mod download) >"$dl_log" 2>&1 ||
   ! (cd "$here" && go mod download sigs.k8s.io/kwok@"$KWOK_VERSION") >>"$dl_log" 2>&1; then
  die "cannot reach the Go module proxy (GOPROXY=$(go env GOPROXY)): $(tail -n 5 "$dl_log" | tr '\n' ' ')"
fi
echo "modules ready ($((SECONDS - start))s)"

ldflags_k8s() {
  local v="$1" major minor
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  local flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

ticker_pid=""
stop_ticker() { [[ -n "$ticker_pid" ]] && kill "$ticker_pid" 2>/dev/null; wait "$ticker_pid" 2>/dev/null || true; ticker_pid=""; }
trap 'stop_ticker; rm -rf "$dl_log" "$bin"/.*.tmp.$$ "$bin"/.gobin.* 2>/dev/null || true' EXIT

i=0
total=${#targets[@]}
for t in "${targets[@]}"; do
  i=$((i + 1))
  IFS='|' read -r name version kind pkg <<<"$t"
  if is_built "$name" "$version"; then
    echo "[$((SECONDS - start))s] $name ($i/$total) already built"
    continue
  fi
  echo "[$((SECONDS - start))s] building $name $version ($i/$total)…"
  t0=$SECONDS
  # a heartbeat so that a long compile or link does not look hung
  ( while sleep 60; do echo "[$((SECONDS - start))s]   still building $name ($((SECONDS - t0))s so far)…"; done ) &
  ticker_pid=$!
  tmp="$bin/.$name.tmp.$$"
  status=0
  case "$kind" in
    k8s)
      (cd "$here" && go build -p "$gomaxprocs" -ldflags "$(ldflags_k8s "$version")" -o "$tmp" "$pkg") || status=$? ;;
    etcd)
      (cd "$here" && go build -p "$gomaxprocs" -ldflags "-s -w" -o "$tmp" "$pkg") || status=$? ;;
    install)
      # outside the wrapper module: kwok has its own go.mod and dependency versions
      gobin="$(mktemp -d "$bin/.gobin.XXXXXX")"
      (cd "$gobin" && GOBIN="$gobin" go install -p "$gomaxprocs" -ldflags "-s -w" "$pkg@$version" &&
        mv "$gobin/$name" "$tmp") || status=$?
      rm -rf "$gobin" ;;
  esac
  if [[ $status -ne 0 ]]; then
    stop_ticker
    die "building $name failed with exit code $status (see the go output above)"
  fi
  stop_ticker
  mv -f "$tmp" "$bin/$name"
  echo "$version" >"$bin/.$name.version.tmp.$$" && mv -f "$bin/.$name.version.tmp.$$" "$bin/.$name.version"
  echo "[$((SECONDS - start))s] built $name in $((SECONDS - t0))s"
done

echo "done in $((SECONDS - start))s"
echo "bin: $bin"
