#!/usr/bin/env bash
# Builds, with no container registry, what the kind tier of the tests needs (test
# infrastructure only; readers of the guide use kind's own images):
#
#   - kind itself (go install sigs.k8s.io/kind@KIND_VERSION);
#   - a kindest/node-compatible node image: a Debian base made with debootstrap (systemd,
#     containerd, runc, iptables, CNI plugins…) plus kind's base files taken from the kind
#     module's source, the Kubernetes binaries built from the wrapper module in tests/cluster,
#     the control-plane images (kube-apiserver, kube-controller-manager, kube-scheduler,
#     kube-proxy, etcd, coredns, pause) made locally, tagged as `kubeadm config images list`
#     names them and imported into the node's containerd; a static bridge + host-local CNI
#     config (clusters use networking.disableDefaultCNI: true) and no storage manifest, so kind
#     falls back to the in-tree host-path StorageClass;
#   - small local stand-ins for the images the chapters use (tests/kind/make-stand-ins.sh):
#     alpine:3.22 (busybox from Debian's busybox-static, with an offline `apk` stand-in),
#     nginx:1.29-alpine (busybox httpd serving "Welcome to nginx!" on port 80 — not nginx) and
#     nginxinc/nginx-unprivileged:1.29-alpine (the same page on port 8080, as uid 101).
#
# Output, keyed by every version below (a change of any rebuilds; otherwise nothing is redone):
#   $KUBENOTES_CACHE/kind-node-<key>.tar     the node image (docker save)
#   $KUBENOTES_CACHE/kind-images-<key>.tar   the stand-in images (docker save)
#   $KUBENOTES_CACHE/kind-node/bin/          kind, crictl, coredns, etcd, pause (+ .NAME.version)
#   $KUBENOTES_CACHE/k8s-<version>/bin/      Kubernetes binaries (shared with tests/cluster)
#
# Needs root (apt-get, debootstrap, dockerd), Go, and the Go module proxy + Debian's mirror.
# A cold build takes about an hour on 2 cores (mostly compiling Kubernetes); with the Go
# build cache warm, a few minutes; with the image cached, about a second.
#
# Usage: tests/kind/build-node-image.sh [--print-env | --force]
#   --print-env  only print KEY=value lines (NODE_IMAGE, NODE_TAR, IMAGES_TAR, LOCAL_IMAGES,
#                KIND_BIN, KUBECTL, KUBE_VERSION, KIND_VERSION, …) and exit; no side effects.
#   --force      rebuild the node image and stand-in images even if cached.
# Environment: KUBENOTES_CACHE (default ~/.cache/kubenotes), KUBENOTES_DEBIAN_MIRROR
#   (default http://deb.debian.org/debian), KUBENOTES_BUILD_JOBS (go build -p, default 2).
#
# Everything runs inside main(), which bash parses whole before running it.
set -euo pipefail

KIND_VERSION=v0.31.0      # its default node image is Kubernetes v1.35.0; go line 1.17
COREDNS_VERSION=v1.13.1   # `kubeadm config images list --kubernetes-version v1.35.4`
ETCD_VERSION=v3.6.6       # same list: registry.k8s.io/etcd:3.6.6-0 (module: tests/kind/etcd)
ETCD_IMAGE_TAG=3.6.6-0
PAUSE_TAG=3.10.1          # same list: registry.k8s.io/pause:3.10.1 (source: tests/kind/pause)
CRICTL_VERSION=v1.34.0    # newest cri-tools tag on the module proxy; kind's `load` and chapter 2 use crictl
DEBIAN_SUITE=bookworm
RECIPE=4                  # bump whenever this script changes what it puts into the images

NODE_PACKAGES=(
  systemd systemd-sysv containerd runc containernetworking-plugins
  iptables nftables iproute2 conntrack ethtool socat util-linux mount kmod
  libseccomp2 pigz bash ca-certificates jq procps curl
)

main() {
  local here repo cache
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/../.." && pwd)"
  cache="${KUBENOTES_CACHE:-$HOME/.cache/kubenotes}"

  local KUBE_VERSION K8S_BIN
  KUBE_VERSION="$(bash "$repo/tests/cluster/build.sh" --print-env | sed -n 's/^KUBE_VERSION=//p')"
  K8S_BIN="$(bash "$repo/tests/cluster/build.sh" --print-bin-dir)"
  local key="$KUBE_VERSION-kind-$KIND_VERSION-etcd-$ETCD_VERSION-coredns-$COREDNS_VERSION-$DEBIAN_SUITE-r$RECIPE"
  local node_image="kubenotes.local/kind-node:$key"
  local node_tar="$cache/kind-node-$key.tar"
  local images_tar="$cache/kind-images-$key.tar"
  local tools="$cache/kind-node/bin"
  local local_images
  mapfile -t local_images < <(bash "$here/make-stand-ins.sh" --list)

  case "${1:-}" in
    --print-env)
      echo "KUBE_VERSION=$KUBE_VERSION"
      echo "KIND_VERSION=$KIND_VERSION"
      echo "NODE_KEY=$key"
      echo "NODE_IMAGE=$node_image"
      echo "NODE_TAR=$node_tar"
      echo "IMAGES_TAR=$images_tar"
      echo "LOCAL_IMAGES=$(IFS=,; echo "${local_images[*]}")"
      echo "KIND_BIN=$tools/kind"
      echo "KUBECTL=$K8S_BIN/kubectl"
      return 0 ;;
    --force) FORCE=1 ;;
    "") FORCE=0 ;;
    *) echo "usage: $0 [--print-env | --force]" >&2; return 2 ;;
  esac

  START=$SECONDS
  TMPDIRS=()
  trap cleanup EXIT
  trap 'echo "build-node-image.sh: interrupted" >&2; exit 130' INT TERM HUP

  if [[ $FORCE -eq 0 && -s "$node_tar" && -s "$images_tar" && -x "$tools/kind" ]]; then
    say "node image already cached: $node_tar"
    say "stand-in images already cached: $images_tar"
    say "done (nothing to build)"
    return 0
  fi

  [[ $EUID -eq 0 ]] || die "needs root (apt-get, debootstrap, dockerd)"
  mkdir -p "$cache" "$tools"
  exec 9>"$cache/.kind-node-build.lock"
  if ! flock -n 9; then
    say "another build-node-image.sh runs; waiting for it…"
    flock 9
  fi

  say "building the offline kind node image $node_image"
  say "versions: Kubernetes $KUBE_VERSION, kind $KIND_VERSION, etcd $ETCD_VERSION, coredns $COREDNS_VERSION, pause $PAUSE_TAG, crictl $CRICTL_VERSION, Debian $DEBIAN_SUITE, recipe r$RECIPE"

  # 1. Packages from Debian, and a Docker engine.
  local missing=() p
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  [[ -x /bin/busybox || -x /usr/bin/busybox ]] && busybox --list 2>/dev/null | grep -qx httpd || missing+=(busybox-static)
  if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v go >/dev/null 2>&1 || die "'go' is not on PATH (Go >= 1.25 is needed to build Kubernetes, kind, etcd, coredns)"
  bash "$here/start-docker.sh" | sed 's/^/    /'
  say "docker engine ready"

  # 2. Binaries.
  say "Kubernetes binaries (tests/cluster/build.sh: control plane, kubectl, etcd for kwok)"
  bash "$repo/tests/cluster/build.sh" | sed 's/^/    /'
  build_node_k8s_binaries "$repo" "$cache" "$K8S_BIN" "$KUBE_VERSION"
  go_install "$tools" kind "$KIND_VERSION" sigs.k8s.io/kind
  go_install "$tools" coredns "$COREDNS_VERSION" github.com/coredns/coredns
  go_install "$tools" crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
  go_build_in "$tools" etcd "$ETCD_VERSION" "$here/etcd" go.etcd.io/etcd/server/v3
  go_build_in "$tools" pause "$PAUSE_TAG-r$RECIPE" "$here/pause" ./pause.go

  local kind_src
  kind_src="$(cd "$cache" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)"
  [[ -d "$kind_src/images/base/files" ]] || die "kind's base files not found in $kind_src"

  # 3. The Debian base root filesystem (cached on its own: it only depends on the suite and
  #    the package list).
  local pkg_hash base_tar
  pkg_hash="$(printf '%s\n' "$DEBIAN_SUITE" "${NODE_PACKAGES[@]}" | sha256sum | cut -c1-12)"
  base_tar="$cache/kind-node/debian-$DEBIAN_SUITE-$pkg_hash.tar"
  if [[ ! -s "$base_tar" ]]; then
    make_debian_base "$base_tar" "$cache"
  else
    say "Debian base cached: $base_tar"
  fi

  local work
  work="$(mktemp -d "$cache/kind-node/work.XXXXXX")"
  TMPDIRS+=("$work")

  # 4. Images, made locally with `docker import` and saved in docker-archive format.
  make_static_base "$work/static" "$base_tar"
  local images=() v="$KUBE_VERSION"
  make_static_image "$work" "registry.k8s.io/kube-apiserver:$v" "$K8S_BIN/kube-apiserver" /usr/local/bin/kube-apiserver ""
  make_static_image "$work" "registry.k8s.io/kube-controller-manager:$v" "$K8S_BIN/kube-controller-manager" /usr/local/bin/kube-controller-manager ""
  make_static_image "$work" "registry.k8s.io/kube-scheduler:$v" "$K8S_BIN/kube-scheduler" /usr/local/bin/kube-scheduler ""
  make_static_image "$work" "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "$tools/etcd" /usr/local/bin/etcd ""
  make_static_image "$work" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$tools/coredns" /coredns '["/coredns"]'
  make_static_image "$work" "registry.k8s.io/pause:$PAUSE_TAG" "$tools/pause" /pause '["/pause"]' 65535:65535
  make_kube_proxy_image "$work" "registry.k8s.io/kube-proxy:$v" "$K8S_BIN/kube-proxy" "$base_tar" "$here"
  images=(
    "registry.k8s.io/kube-apiserver:$v" "registry.k8s.io/kube-controller-manager:$v"
    "registry.k8s.io/kube-scheduler:$v" "registry.k8s.io/kube-proxy:$v"
    "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
    "registry.k8s.io/pause:$PAUSE_TAG"
  )
  check_kubeadm_images "$K8S_BIN/kubeadm" "$KUBE_VERSION" "${images[@]}"

  # 5. The node's root filesystem: base + kind's files + binaries + config + images.
  local rootfs="$work/rootfs"
  say "assembling the node root filesystem"
  mkdir -p "$rootfs"
  tar -C "$rootfs" -xf "$base_tar"
  install_kind_files "$rootfs" "$kind_src/images/base/files" "$here" "$KUBE_VERSION"
  for p in kubeadm kubelet kubectl; do install -m 0755 "$K8S_BIN/$p" "$rootfs/usr/bin/$p"; done
  install -m 0755 "$tools/crictl" "$rootfs/usr/local/bin/crictl"
  say "importing ${#images[@]} control-plane images into the node's containerd"
  docker save "${images[@]}" -o "$work/control-plane.tar"
  docker image rm "${images[@]}" >/dev/null 2>&1 || true # they live in the node now
  import_into_containerd "$rootfs" "$work" "$work/control-plane.tar" "${images[@]}"

  # 6. The node image.
  # (kindest/node also has STOPSIGNAL SIGRTMIN+3, which `docker import` cannot set on Docker
  # 20.10; kind deletes nodes with `docker rm -f`, so it does not matter here.)
  say "creating the node image (docker import)"
  docker image rm -f "$node_image" >/dev/null 2>&1 || true
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV container=docker' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --message "kubenotes offline kind node $key" \
    - "$node_image" >/dev/null
  rm -rf "$rootfs"
  say "saving the node image to $node_tar"
  docker save "$node_image" -o "$node_tar.tmp.$$"
  mv -f "$node_tar.tmp.$$" "$node_tar"

  # 7. Stand-ins for the chapters' images.
  bash "$here/make-stand-ins.sh" "${local_images[@]}" | sed 's/^/    /'
  say "stand-in images made: ${local_images[*]}"
  docker save "${local_images[@]}" -o "$images_tar.tmp.$$"
  mv -f "$images_tar.tmp.$$" "$images_tar"

  # old keys are dead weight
  local f old
  for old in $(docker images --format '{{.Repository}}:{{.Tag}}' kubenotes.local/kind-node); do
    [[ "$old" == "$node_image" ]] || { say "removing stale image $old"; docker image rm "$old" >/dev/null 2>&1 || true; }
  done
  for f in "$cache"/kind-node-*.tar "$cache"/kind-images-*.tar; do
    [[ "$f" == "$node_tar" || "$f" == "$images_tar" ]] || { say "removing stale $f"; rm -f "$f"; }
  done

  say "node image: $node_image ($(du -h "$node_tar" | cut -f1)) → $node_tar"
  say "stand-in images: ${local_images[*]} ($(du -h "$images_tar" | cut -f1)) → $images_tar"
  say "done in $((SECONDS - START))s"
}

say() { echo "[build-node-image $((SECONDS - START))s] $*"; }
die() { echo "build-node-image.sh: error: $*" >&2; exit 1; }

cleanup() {
  stop_ticker
  if [[ -n "${CTRD_PID:-}" ]]; then kill "$CTRD_PID" 2>/dev/null || true; wait "$CTRD_PID" 2>/dev/null || true; fi
  if [[ ${#TMPDIRS[@]} -gt 0 ]]; then rm -rf "${TMPDIRS[@]}" 2>/dev/null || true; fi
}

TICKER_PID=""
start_ticker() { # what
  local what="$1" t0=$SECONDS
  (exec 9>&-; while sleep 60; do echo "[build-node-image $((SECONDS - START))s]   still $what ($((SECONDS - t0))s so far)…"; done) &
  TICKER_PID=$!
}
stop_ticker() {
  if [[ -n "$TICKER_PID" ]]; then kill "$TICKER_PID" 2>/dev/null || true; wait "$TICKER_PID" 2>/dev/null || true; TICKER_PID=""; fi
}

is_built() { [[ -x "$1/$2" && -f "$1/.$2.version" && "$(cat "$1/.$2.version")" == "$3" ]]; }
mark_built() { echo "$3" >"$1/.$2.version.tmp" && mv -f "$1/.$2.version.tmp" "$1/.$2.version"; }

ldflags_k8s() { # version (as tests/cluster/build.sh stamps it)
  local v="$1" major minor flags="-s -w" p
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    flags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# kubelet, kubeadm, kube-proxy from the wrapper module in tests/cluster. Its go.sum does not
# (yet) cover them, so unless it does, they are built in a copy of that module in the cache
# with those three added and `go mod tidy` run (which only adds the missing dependencies: no
# module changes version, so the Go build cache is shared).
build_node_k8s_binaries() { # repo cache bin version
  local repo="$1" cache="$2" bin="$3" version="$4" n todo=()
  for n in kubeadm kube-proxy kubelet; do is_built "$bin" "$n" "$version" || todo+=("$n"); done
  if [[ ${#todo[@]} -eq 0 ]]; then say "kubelet, kubeadm, kube-proxy $version already built"; return 0; fi
  local mod="$repo/tests/cluster"
  if ! (cd "$mod" && GOFLAGS=-mod=readonly go list k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kube-proxy >/dev/null 2>&1); then
    mod="$cache/kind-node/k8s-module"
    say "preparing a copy of the tests/cluster wrapper module with kubelet, kubeadm, kube-proxy: $mod"
    mkdir -p "$mod"
    cp "$repo/tests/cluster/go.mod" "$repo/tests/cluster/go.sum" "$mod/"
    cat >"$mod/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
EOF
    (cd "$mod" && go mod tidy) || die "go mod tidy failed in $mod"
  fi
  for n in "${todo[@]}"; do
    local t0=$SECONDS
    say "building $n $version (in $mod)…"
    start_ticker "building $n"
    (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-trimpath go build -p "${KUBENOTES_BUILD_JOBS:-2}" \
      -ldflags "$(ldflags_k8s "$version")" -o "$bin/.$n.tmp.$$" "k8s.io/kubernetes/cmd/$n") ||
      { stop_ticker; rm -f "$bin/.$n.tmp.$$"; die "building $n failed"; }
    stop_ticker
    mv -f "$bin/.$n.tmp.$$" "$bin/$n"
    mark_built "$bin" "$n" "$version"
    say "built $n in $((SECONDS - t0))s"
  done
}

go_install() { # dir name version package
  local dir="$1" name="$2" version="$3" pkg="$4" gobin t0=$SECONDS
  if is_built "$dir" "$name" "$version"; then say "$name $version already built"; return 0; fi
  say "go install $pkg@$version…"
  gobin="$(mktemp -d "$dir/.gobin.XXXXXX")"
  TMPDIRS+=("$gobin")
  start_ticker "building $name"
  (cd "$gobin" && CGO_ENABLED=0 GOFLAGS=-trimpath GOBIN="$gobin" go install -ldflags "-s -w" "$pkg@$version") ||
    { stop_ticker; die "go install $pkg@$version failed"; }
  stop_ticker
  mv -f "$gobin/$name" "$dir/$name"
  mark_built "$dir" "$name" "$version"
  say "built $name in $((SECONDS - t0))s"
}

go_build_in() { # dir name version moduledir package
  local dir="$1" name="$2" version="$3" mod="$4" pkg="$5" t0=$SECONDS
  if is_built "$dir" "$name" "$version"; then say "$name $version already built"; return 0; fi
  say "building $name $version (in ${mod#"$PWD/"})…"
  start_ticker "building $name"
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-trimpath go build -ldflags "-s -w" -o "$dir/.$name.tmp.$$" "$pkg") ||
    { stop_ticker; rm -f "$dir/.$name.tmp.$$"; die "building $name failed"; }
  stop_ticker
  mv -f "$dir/.$name.tmp.$$" "$dir/$name"
  mark_built "$dir" "$name" "$version"
  say "built $name in $((SECONDS - t0))s"
}

make_debian_base() { # out-tar cache
  local out="$1" cache="$2" dir mirror="${KUBENOTES_DEBIAN_MIRROR:-http://deb.debian.org/debian}" t0=$SECONDS
  dir="$(mktemp -d "$cache/kind-node/debootstrap.XXXXXX")"
  TMPDIRS+=("$dir")
  say "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror (${#NODE_PACKAGES[@]} extra packages; a few minutes)…"
  start_ticker "running debootstrap"
  local pkgs
  pkgs="$(IFS=,; echo "${NODE_PACKAGES[*]}")"
  if ! debootstrap --variant=minbase --include="$pkgs" "$DEBIAN_SUITE" "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1; then
    stop_ticker
    tail -n 20 "$dir/debootstrap.log" >&2
    [[ -f "$dir/rootfs/debootstrap/debootstrap.log" ]] && tail -n 20 "$dir/rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  stop_ticker
  say "debootstrap done in $((SECONDS - t0))s; trimming"
  local r="$dir/rootfs"
  # what kind's base Dockerfile does after installing its packages
  find "$r/lib/systemd/system/sysinit.target.wants/" -name "systemd-tmpfiles-setup.service" -delete
  rm -f "$r"/lib/systemd/system/multi-user.target.wants/* "$r"/etc/systemd/system/*.wants/* \
    "$r"/lib/systemd/system/local-fs.target.wants/* "$r"/lib/systemd/system/sockets.target.wants/*udev* \
    "$r"/lib/systemd/system/sockets.target.wants/*initctl* "$r"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$r/etc/systemd/journald.conf"
  [[ -e "$r/sbin/init" ]] || ln -s /lib/systemd/systemd "$r/sbin/init"
  # CNI plugins where containerd looks for them
  mkdir -p "$r/opt/cni/bin"
  local p
  for p in "$r"/usr/lib/cni/*; do ln -sf "/usr/lib/cni/$(basename "$p")" "$r/opt/cni/bin/$(basename "$p")"; done
  # smaller: no apt lists, caches, docs
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/debootstrap
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
  : >"$r/etc/machine-id"
  echo "kubenotes-kind-node" >"$r/etc/hostname"
  tar -C "$r" --numeric-owner -cf "$out.tmp.$$" .
  mv -f "$out.tmp.$$" "$out"
  rm -rf "$dir"
  say "Debian base: $out ($(du -h "$out" | cut -f1))"
}

# kind's base image files (from the kind module's images/base/files), as its Dockerfile puts
# them, adapted to Debian's containerd 1.6 and runc, plus our CNI config.
install_kind_files() { # rootfs kind-files here kube-version
  local r="$1" f="$2" here="$3" version="$4"
  install -m 0755 "$f/usr/local/bin/entrypoint" "$r/usr/local/bin/entrypoint"
  install -m 0755 "$f/usr/local/bin/clean-install" "$r/usr/local/bin/clean-install"
  mkdir -p "$r/kind/bin" "$r/etc/containerd" "$r/etc/default" "$r/etc/sysctl.d" \
    "$r/etc/systemd/system/kubelet.service.d" "$r/etc/kubernetes/manifests" "$r/etc/cni/net.d"
  install -m 0755 "$f"/kind/bin/* "$r/kind/bin/"
  install -m 0644 "$f/etc/crictl.yaml" "$r/etc/crictl.yaml"
  install -m 0644 "$f/etc/default/kubelet" "$r/etc/default/kubelet"
  install -m 0644 "$f"/etc/sysctl.d/* "$r/etc/sysctl.d/"
  install -m 0644 "$f"/etc/systemd/system/*.service "$f"/etc/systemd/system/*.slice "$r/etc/systemd/system/"
  install -m 0644 "$f"/etc/systemd/system/kubelet.service.d/* "$r/etc/systemd/system/kubelet.service.d/"
  # containerd: kind's config (version 2, fine for 1.6) with kubeadm's pause image
  sed -e "s|sandbox_image = \"registry.k8s.io/pause:[^\"]*\"|sandbox_image = \"registry.k8s.io/pause:$PAUSE_TAG\"|" \
    "$f/etc/containerd/config.toml" >"$r/etc/containerd/config.toml"
  grep -q "pause:$PAUSE_TAG" "$r/etc/containerd/config.toml" || die "could not set the sandbox image in containerd's config"
  # kind's units run /usr/local/bin/containerd; Debian installs it in /usr/bin
  ln -sf /usr/bin/containerd "$r/usr/local/bin/containerd"
  # the runtime spec containerd's CRI starts from, as kind's Dockerfile makes it
  "$r/usr/bin/ctr" oci spec |
    jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
    jq 'del(.process.rlimits)' >"$r/etc/containerd/cri-base.json"
  # runc: on machines whose capability bounding set lacks CAP_SYS_RESOURCE, privileged pods
  # (kube-proxy) fail like privileged containers on the host; this wrapper (a no-op where the
  # capability exists) sits first on containerd's PATH, as kind's own runc in /usr/local/sbin.
  mkdir -p "$r/usr/local/sbin"
  install -m 0755 "$here/runc-without-sys-resource" "$r/usr/local/sbin/runc"
  # networking: no kindnet; a static bridge + host-local config, single node
  install -m 0644 "$here/node/10-kubenotes-bridge.conflist" "$r/etc/cni/net.d/10-kubenotes-bridge.conflist"
  echo -n "$version" >"$r/kind/version"
  # services, as kind's Dockerfile enables them
  chroot "$r" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1 ||
    die "systemctl enable in the node rootfs failed"
  chroot "$r" systemctl mask systemd-binfmt.service >/dev/null 2>&1 || true
}

# A distroless-like base for static binaries: passwd/group, /tmp, CA certificates.
make_static_base() { # dir base-tar
  local d="$1" base="$2"
  mkdir -p "$d/etc/ssl/certs" "$d/tmp" "$d/usr/local/bin" "$d/var/run"
  chmod 1777 "$d/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$d/etc/group"
  echo 'hosts: files dns' >"$d/etc/nsswitch.conf"
  tar -xf "$base" -C "$d" ./etc/ssl/certs/ca-certificates.crt 2>/dev/null || true
}

make_static_image() { # work tag binary path entrypoint-json [user]
  local work="$1" tag="$2" bin="$3" path="$4" entry="$5" user="${6:-}" d
  d="$work/img-$(echo "$tag" | tr '/:' '__')"
  cp -a "$work/static" "$d"
  mkdir -p "$d$(dirname "$path")"
  install -m 0755 "$bin" "$d$path"
  local changes=(--change "ENV PATH=/usr/local/bin:/usr/bin:/bin")
  [[ -n "$entry" ]] && changes+=(--change "ENTRYPOINT $entry")
  [[ -n "$user" ]] && changes+=(--change "USER $user")
  tar -C "$d" --numeric-owner --owner=0 --group=0 -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  rm -rf "$d"
  say "image $tag"
}

# kube-proxy needs iptables, ip6tables, nft and conntrack: a trimmed copy of the Debian base.
make_kube_proxy_image() { # work tag binary base-tar here
  local work="$1" tag="$2" bin="$3" base="$4" here="$5" d="$1/img-kube-proxy" t
  mkdir -p "$d"
  tar -C "$d" -xf "$base"
  rm -rf "$d"/usr/bin/containerd* "$d"/usr/bin/ctr "$d"/usr/sbin/runc "$d"/usr/lib/cni "$d"/opt/cni \
    "$d"/usr/lib/systemd "$d"/lib/systemd/system "$d"/usr/share/zoneinfo "$d"/var/cache/debconf/*
  install -m 0755 "$bin" "$d/usr/local/bin/kube-proxy"
  install -m 0755 "$here/node/iptables-wrapper" "$d/usr/sbin/iptables-wrapper"
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf iptables-wrapper "$d/usr/sbin/$t"
  done
  tar -C "$d" --numeric-owner -c . | docker import --change 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]' - "$tag" >/dev/null
  rm -rf "$d"
  say "image $tag"
}

check_kubeadm_images() { # kubeadm version images...
  local kubeadm="$1" version="$2" want
  shift 2
  local have=" $* "
  while read -r want; do
    [[ "$have" == *" $want "* ]] || die "kubeadm $version expects $want, which this script does not make (update the versions at its top)"
  done < <("$kubeadm" config images list --kubernetes-version "$version")
  say "all images that kubeadm $version expects are made: $*"
}

# Imports images into the node's containerd content store (not unpacked, as kind's own node
# images ship them; the CRI unpacks on first use), with the node's own containerd and ctr run
# on this machine against the node's /var/lib/containerd.
CTRD_PID=""
import_into_containerd() { # rootfs work archive images...
  local r="$1" work="$2" archive="$3" i
  shift 3
  local sock="$work/containerd.sock"
  mkdir -p "$work/containerd-state"
  cat >"$work/containerd.toml" <<EOF
version = 2
root = "$r/var/lib/containerd"
state = "$work/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
EOF
  "$r/usr/bin/containerd" --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
  CTRD_PID=$!
  for i in $(seq 1 60); do
    [[ -S "$sock" ]] && "$r/usr/bin/ctr" --address "$sock" version >/dev/null 2>&1 && break
    kill -0 "$CTRD_PID" 2>/dev/null || { tail -n 20 "$work/containerd.log" >&2; die "containerd for the import exited"; }
    sleep 0.5
  done
  "$r/usr/bin/ctr" --address "$sock" -n k8s.io images import --no-unpack --all-platforms "$archive" >/dev/null ||
    die "ctr images import failed"
  for i in "$@"; do
    "$r/usr/bin/ctr" --address "$sock" -n k8s.io images label "$i" io.cri-containerd.pinned=pinned >/dev/null 2>&1 || true
  done
  say "node's containerd now has: $("$r/usr/bin/ctr" --address "$sock" -n k8s.io images list -q | grep -v '^sha256:' | tr '\n' ' ')"
  kill "$CTRD_PID"
  wait "$CTRD_PID" 2>/dev/null || true
  CTRD_PID=""
  rm -rf "$r/run/containerd" "$work/containerd-state"
}

main "$@"; exit $?
