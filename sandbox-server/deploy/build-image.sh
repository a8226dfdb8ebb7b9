#!/usr/bin/env bash
# Builds the sandbox image (sandbox-server/Dockerfile) from the repository root, on a machine
# with no container registry: the base is made locally first (make-local-base.sh), and CA
# certificates this machine added to its trust store (a TLS-intercepting proxy's, say) are
# passed to the build stages, which fetch from Debian, npm and the Go module proxy.
#
#   bash sandbox-server/deploy/build-image.sh                 # → kubenotes:local
#   bash sandbox-server/deploy/build-image.sh --tag kubenotes:dev --base debian:bookworm-slim
#
# Prints the build time and the image size as its last lines.
# Environment: KUBENOTES_BUILD_CA_FILE (a PEM file to pass instead of the detected ones).
set -euo pipefail

main() {
  local here repo tag="kubenotes:local" base="kubenotes-base:bookworm" extra=()
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/../.." && pwd)"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --tag) tag="${2:?--tag needs NAME:TAG}"; shift ;;
      --base) base="${2:?--base needs an image}"; shift ;;
      -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
      *) extra+=("$1") ;;
    esac
    shift
  done
  local start=$SECONDS
  if [[ "$base" == kubenotes-base:* ]]; then
    bash "$here/make-local-base.sh" --tag "$base"
  fi
  local ca
  ca="$(extra_ca_certs)"
  [[ -n "$ca" ]] && echo "[build-image] passing $(grep -c 'BEGIN CERTIFICATE' <<<"$ca") extra CA certificate(s) of this machine to the build stages"
  # The build stages are tagged too (kubenotes-build-cache:tools, :app): the classic builder
  # keeps its cache in untagged images, which `docker image prune` on a shared engine removes.
  # --no-cache applies to the first build only; the next two reuse what it just made.
  # Rebuilding moves each tag to a new image; the one it left is removed afterwards, or every
  # rebuild would keep another 2 GB (a CI machine builds this on every run). --force-rm: a
  # failed step leaves no stopped container behind either.
  local target name before first=1
  for target in tools app ""; do
    if [[ $first -eq 0 ]]; then
      local kept=() arg
      for arg in ${extra[@]+"${extra[@]}"}; do [[ "$arg" == --no-cache ]] || kept+=("$arg"); done
      extra=(${kept[@]+"${kept[@]}"})
    fi
    first=0
    name="${target:+kubenotes-build-cache:}${target:-$tag}"
    before="$(docker image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)"
    echo "[build-image] docker build -f sandbox-server/Dockerfile --build-arg BASE_IMAGE=$base ${target:+--target $target }-t $name ."
    docker build --force-rm -f "$repo/sandbox-server/Dockerfile" \
      --build-arg "BASE_IMAGE=$base" --build-arg "EXTRA_CA_CERTS=$ca" \
      ${target:+--target "$target"} -t "$name" ${extra[@]+"${extra[@]}"} "$repo"
    remove_replaced "$name" "$before"
  done
  local size
  size="$(docker image inspect "$tag" --format '{{.Size}}')"
  echo "[build-image] built $tag in $((SECONDS - start))s"
  echo "[build-image] image size: $(awk -v s="$size" 'BEGIN { printf "%.0f MB", s / 1e6 }') ($size bytes)"
}

# Removes the image NAME pointed to before this build when the build moved NAME elsewhere and
# nothing else names that image (another tag, or a container using it, keeps it).
remove_replaced() {
  local name="$1" before="$2" now
  now="$(docker image inspect --format '{{.Id}}' "$name")"
  [[ -n "$before" && "$before" != "$now" ]] || return 0
  [[ "$(docker image inspect --format '{{len .RepoTags}}' "$before" 2>/dev/null)" == 0 ]] || return 0
  if docker image rm "$before" >/dev/null 2>&1; then
    echo "[build-image] removed the image $name pointed to before (${before#sha256:})"
  else
    echo "[build-image] kept the image $name pointed to before (${before#sha256:}): still in use"
  fi
}

# CA certificates the machine's administrator added, where Debian keeps them
# (/usr/local/share/ca-certificates); else plain files in /etc/ssl/certs (Debian's own are
# symlinks), the snakeoil server certificate left out.
extra_ca_certs() {
  if [[ -n "${KUBENOTES_BUILD_CA_FILE:-}" ]]; then
    cat "$KUBENOTES_BUILD_CA_FILE"
    return
  fi
  local f found=()
  for f in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
    [[ -f "$f" ]] && grep -q 'BEGIN CERTIFICATE' "$f" && found+=("$f")
  done
  if [[ ${#found[@]} -eq 0 ]]; then
    for f in /etc/ssl/certs/*.pem; do
      [[ -f "$f" && ! -L "$f" && "$f" != */ssl-cert-snakeoil.pem ]] || continue
      grep -q 'BEGIN CERTIFICATE' "$f" && found+=("$f")
    done
  fi
  [[ ${#found[@]} -gt 0 ]] && cat "${found[@]}"
  return 0
}

main "$@"
