#!/usr/bin/env bash
# Builds the binaries of the local test cluster from the Go module proxy:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd
#     (from the wrapper module in this folder: go.mod pins k8s.io/kubernetes
#     and every staging module), and
#   kwokctl (go install sigs.k8s.io/kwok/cmd/kwokctl@KWOK_VERSION, in its
#     own module: kwok needs newer k8s.io/* libraries than Kubernetes pins), and
#   kwok-exec-sandboxed: kwok with kwok-exec-sandbox.patch applied (`kubectl exec`
#     runs the command inside a sandbox, or is refused), built from a copy of the module.
#
# Output: ${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}/k8s-<version>/bin/
# Idempotent: a binary already built for the same version is skipped, so a
# second run takes well under a second and needs no network. Each binary is
# written under a temporary name and moved into place, so an interrupted build
# leaves no half binary. A cold build takes 20-35 minutes on 2 cores; with a
# warm Go build cache a minute or two.
#
# Usage: tests/cluster/build.sh [--print-bin-dir | --print-env]
#   --print-bin-dir  only print the bin directory and exit.
#   --print-env      only print KUBE_VERSION=, ETCD_VERSION=, KWOK_VERSION=, BIN_DIR= lines.
# Environment: KUBENOTES_CACHE (cache root), KUBENOTES_BUILD_JOBS (go build -p, default 2).
# The last line printed on success is always "bin: <dir>".
#
# Everything runs inside main(), which bash parses whole before running it, so
# editing this file while a build runs cannot derail the running build.
set -euo pipefail

KUBE_VERSION=v1.35.4 # keep in sync with go.mod (require + every replace line)
ETCD_VERSION=v3.6.5  # the etcd that k8s.io/kubernetes@KUBE_VERSION's go.mod requires
KWOK_VERSION=v0.8.0  # its supported_releases.txt lists 1.35

main() {
  local here cache bin
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  cache="${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}"
  bin="$cache/k8s-$KUBE_VERSION/bin"

  case "${1:-}" in
    --print-bin-dir) echo "$bin"; return 0 ;;
    --print-env)
      echo "KUBE_VERSION=$KUBE_VERSION"
      echo "ETCD_VERSION=$ETCD_VERSION"
      echo "KWOK_VERSION=$KWOK_VERSION"
      echo "BIN_DIR=$bin"
      return 0 ;;
    "") ;;
    *) echo "usage: $0 [--print-bin-dir | --print-env]" >&2; return 2 ;;
  esac

  # name | version stamp | how to build | package
  local targets=(
    "kube-apiserver|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kube-apiserver"
    "kube-controller-manager|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kube-controller-manager"
    "kube-scheduler|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kube-scheduler"
    "kubectl|$KUBE_VERSION|k8s|k8s.io/kubernetes/cmd/kubectl"
    "etcd|$ETCD_VERSION|etcd|go.etcd.io/etcd/server/v3"
    "kwokctl|$KWOK_VERSION|install|sigs.k8s.io/kwok/cmd/kwokctl"
    "kwok-exec-sandboxed|$KWOK_VERSION+$(sha256sum "$here/kwok-exec-sandbox.patch" | cut -c1-12)|patched|./cmd/kwok"
  )

  local t name version kind pkg missing=()
  for t in "${targets[@]}"; do
    IFS='|' read -r name version _ _ <<<"$t"
    is_built "$bin" "$name" "$version" || missing+=("$name")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "all ${#targets[@]} binaries already built (Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
    echo "bin: $bin"
    return 0
  fi

  command -v go >/dev/null 2>&1 ||
    die "'go' was not found on PATH; it is needed once to build the test cluster. Install Go >= 1.25 (https://go.dev/doc/install, or Debian's golang-go if new enough) and run again."

  mkdir -p "$bin"

  # One build at a time per cache directory (two test runs may start together).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$bin/.build.lock"
    if ! flock -n 9; then
      echo "another build.sh is already building into $bin; waiting for it…"
      flock 9
    fi
    # the other build may have finished everything meanwhile
    missing=()
    for t in "${targets[@]}"; do
      IFS='|' read -r name version _ _ <<<"$t"
      is_built "$bin" "$name" "$version" || missing+=("$name")
    done
  fi

  export GOFLAGS=-trimpath
  export CGO_ENABLED=0 # static binaries, no C toolchain needed (as upstream builds them)
  local jobs="${KUBENOTES_BUILD_JOBS:-2}"

  START=$SECONDS
  TMPFILES=()
  trap cleanup EXIT
  trap 'echo "build.sh: interrupted" >&2; exit 130' INT TERM HUP

  echo "building ${#missing[@]} missing binaries into $bin (Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  echo "a cold build takes 20-35 minutes on 2 cores (kube-apiserver is the largest); later runs reuse the Go build cache"

  # Fetch every module first, so that a machine without the module proxy gets one clear message.
  echo "downloading Go modules…"
  local dl_log
  dl_log="$(mktemp)"
  TMPFILES+=("$dl_log")
  if ! run_go "$here" mod download >"$dl_log" 2>&1 ||
     ! run_go "$here" mod download "sigs.k8s.io/kwok@$KWOK_VERSION" >>"$dl_log" 2>&1; then
    die "cannot reach the Go module proxy (GOPROXY=$(go env GOPROXY)): $(tail -n 5 "$dl_log" | tr '\n' ' ')"
  fi
  echo "[$(elapsed)] modules ready"

  local i=0 total=${#targets[@]} t0 tmp gobin src status
  for t in "${targets[@]}"; do
    i=$((i + 1))
    IFS='|' read -r name version kind pkg <<<"$t"
    if is_built "$bin" "$name" "$version"; then
      echo "[$(elapsed)] $name ($i/$total) already built"
      continue
    fi
    echo "[$(elapsed)] building $name $version ($i/$total)…"
    t0=$SECONDS
    start_ticker "$name" "$t0"
    tmp="$bin/.$name.tmp.$$"
    TMPFILES+=("$tmp")
    status=0
    case "$kind" in
      k8s) run_go "$here" build -p "$jobs" -ldflags "$(ldflags_k8s "$version")" -o "$tmp" "$pkg" || status=$? ;;
      etcd) run_go "$here" build -p "$jobs" -ldflags "-s -w" -o "$tmp" "$pkg" || status=$? ;;
      install)
        # outside the wrapper module: kwok resolves its own go.mod
        gobin="$(mktemp -d "$bin/.gobin.XXXXXX")"
        TMPFILES+=("$gobin")
        GOBIN="$gobin" run_go "$gobin" install -p "$jobs" -ldflags "-s -w" "$pkg@$version" || status=$?
        [[ $status -ne 0 ]] || mv -f "$gobin/$name" "$tmp" || status=$?
        rm -rf "$gobin" ;;
      patched)
        # a writable copy of kwok's module with the patch applied, built in its own go.mod
        src="$(mktemp -d "$bin/.src.XXXXXX")"
        TMPFILES+=("$src")
        { cp -R "$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/." "$src/" &&
          chmod -R u+w "$src" &&
          patch -s -p1 -d "$src" <"$here/kwok-exec-sandbox.patch" &&
          run_go "$src" build -p "$jobs" -ldflags "-s -w" -o "$tmp" "$pkg"; } || status=$?
        rm -rf "$src" ;;
    esac
    stop_ticker
    [[ $status -eq 0 ]] || die "building $name failed with exit code $status (see the go output above)"
    mv -f "$tmp" "$bin/$name"
    echo "$version" >"$bin/.$name.version.tmp.$$"
    mv -f "$bin/.$name.version.tmp.$$" "$bin/.$name.version"
    echo "[$(elapsed)] built $name in $((SECONDS - t0))s"
  done

  echo "done in $(elapsed)"
  echo "bin: $bin"
}

die() { echo "build.sh: error: $*" >&2; exit 1; }

elapsed() { echo "$((SECONDS - START))s"; }

is_built() { # bin name version
  [[ -x "$1/$2" && -f "$1/.$2.version" && "$(cat "$1/.$2.version")" == "$3" ]]
}

ldflags_k8s() { # version -> -ldflags value stamping the version where kubectl/kwokctl read it
  local v="$1" major minor flags="-s -w" p
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    flags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# run_go DIR ARGS...: runs go in DIR as a background child and waits for it,
# so that an INT/TERM reaches our trap at once and the trap can stop go too.
GO_PID=""
run_go() {
  local dir="$1"; shift
  (cd "$dir" && exec go "$@") &
  GO_PID=$!
  local rc=0
  wait "$GO_PID" || rc=$?
  GO_PID=""
  return "$rc"
}

# a heartbeat line every minute, so that a long compile or link does not look hung
TICKER_PID=""
start_ticker() { # name t0
  local name="$1" t0="$2"
  (exec 9>&-; while sleep 60; do echo "[$((SECONDS - START))s]   still building $name ($((SECONDS - t0))s so far)…"; done) &
  TICKER_PID=$!
}
stop_ticker() {
  if [[ -n "$TICKER_PID" ]]; then
    kill "$TICKER_PID" 2>/dev/null || true
    wait "$TICKER_PID" 2>/dev/null || true
    TICKER_PID=""
  fi
}

cleanup() {
  stop_ticker
  if [[ -n "$GO_PID" ]]; then
    kill -TERM "$GO_PID" 2>/dev/null || true
    wait "$GO_PID" 2>/dev/null || true
  fi
  if [[ ${#TMPFILES[@]} -gt 0 ]]; then rm -rf "${TMPFILES[@]}" 2>/dev/null || true; fi
}

main "$@"; exit $?
