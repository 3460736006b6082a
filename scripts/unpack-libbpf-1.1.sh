#!/usr/bin/env bash
# unpack-libbpf-1.1.sh <dir>: Debian 12's own libbpf 1.1 (libbpf1 + libbpf-dev of the bookworm
# suite, whatever backports installed) unpacked under <dir>, never installed: the tests load the
# library by path (ECLI_LIBBPF) and compile against the headers with -I, so that 1.1 keeps
# working beside the system's 1.4. Prints the library's path.
set -euo pipefail
dir=${1:?usage: unpack-libbpf-1.1.sh <dir>}
mkdir -p "$dir/debs" "$dir/root"
# The bookworm (not backports) version of each package, as apt knows it.
bookworm_version() {
  apt-cache madison "$1" | awk -F'|' '$3 !~ /backports/ && $3 ~ /bookworm/ { gsub(/ /, "", $2); print $2; exit }'
}
for package in libbpf1 libbpf-dev; do
  version=$(bookworm_version "$package")
  case "$version" in
    1:1.1.*) ;;
    *) echo "unpack-libbpf-1.1: no libbpf 1.1 of $package in apt's bookworm suite (found '${version}'); run apt-get update" >&2; exit 1 ;;
  esac
  (cd "$dir/debs" && apt-get download -qq "$package=$version" 2>/dev/null)
done
for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
library=$(find "$dir/root" -name 'libbpf.so.1' | head -1)
[ -n "$library" ] || { echo "unpack-libbpf-1.1: libbpf.so.1 not found in the packages" >&2; exit 1; }
echo "$library"
