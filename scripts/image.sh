#!/usr/bin/env bash
# make image: an OCI image of ecli, built offline from this machine's Debian packages and this
# repository, with no base image pulled from anywhere.
#
# The image holds only what `ecli run` needs: the node binary and the shared libraries it and
# libbpf load (copied from the installed Debian packages, found with ldd), the CA certificates,
# the bundled ecli (dist/bundle), koffi's native module for this architecture, and the example
# packages compiled by ./ecc. It is built `FROM scratch` with a single layer whose files all have
# the time SOURCE_DATE_EPOCH (default 0), so the same inputs give the same image.
#
# Environment: IMAGE (default localhost/ecli-ts:<version>), PODMAN (default podman; a test gives
# its own storage with e.g. "podman --root DIR --runroot DIR"), SOURCE_DATE_EPOCH.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p "require('./package.json').version")
image=${IMAGE:-localhost/ecli-ts:$version}
podman_cmd=(${PODMAN:-podman})
epoch=${SOURCE_DATE_EPOCH:-0}
examples=(execsnoop execsnoop-full exitsnoop opensnoop sigsnoop)

[ -f dist/bundle/ecli.cjs ] || { echo "image: dist/bundle/ecli.cjs is missing: run make build first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ecli-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
app=$root/opt/ecli

# Debian's merged /usr: /lib, /lib64 and /bin are links into /usr, as on the host.
mkdir -p "$root/usr/lib" "$root/usr/lib64" "$root/usr/bin"
for dir in lib lib64 bin; do ln -s "usr/$dir" "$root/$dir"; done

# The files of a binary or library and of every library it loads, at their own paths.
copy_with_libraries() {
  local file
  for file in "$@" $(for f in "$@"; do ldd "$f"; done | awk '/=> \//{print $3} /^[[:space:]]+\//{print $1}' | sort -u); do
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
  done
}
node_bin=$(readlink -f "$(command -v node)")
libbpf=$(ldconfig -p | awk '$1 == "libbpf.so.1" && /x86-64|aarch64/ {print $NF; exit}')
[ -n "$libbpf" ] || { echo "image: libbpf.so.1 is not installed (make setup installs it)" >&2; exit 1; }
copy_with_libraries "$node_bin" "$(readlink -f "$libbpf")"
[ "$node_bin" = /usr/bin/node ] || ln -s "$node_bin" "$root/usr/bin/node"
# libbpf is loaded by its soname.
[ -e "$root$libbpf" ] || ln -s "$(basename "$(readlink -f "$libbpf")")" "$root$libbpf"
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/sys" "$root/proc" "$root/run"
chmod 1777 "$root/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

# ecli itself: the bundle and its code cache, the launcher, package.json (its version), koffi.
mkdir -p "$app/bin" "$app/dist/bundle" "$app/node_modules"
cp bin/ecli.cjs bin/run-bundle.cjs "$app/bin/"
cp dist/bundle/ecli.cjs dist/bundle/ecli.cjs.cache "$app/dist/bundle/"
cp package.json LICENSE* "$app/" 2>/dev/null || cp package.json "$app/"
cp -r node_modules/koffi "$app/node_modules/"
rm -rf "$app/node_modules/koffi/doc"
# koffi's native part for this machine (glibc; not the musl build beside it).
arch=$(node -p process.arch)
native=node_modules/@koromix/koffi-linux-$arch
[ -d "$native" ] || { echo "image: $native is missing: run npm ci (with optional dependencies)" >&2; exit 1; }
mkdir -p "$app/$native"
cp -r "$native/package.json" "$native/index.js" "$native/linux_$arch" "$app/$native/"
ln -s ../../opt/ecli/bin/ecli.cjs "$root/usr/bin/ecli"

# The example packages, compiled here (the image has no compiler).
for name in "${examples[@]}"; do
  header=examples/$name/$name.h
  ./ecc -o "$app/examples/$name" "examples/$name/$name.bpf.c" $( [ -f "$header" ] && echo "$header") >"$work/ecc.log" 2>&1 || { cat "$work/ecc.log" >&2; exit 1; }
  rm -f "$app/examples/$name"/*.bpf.o "$app/examples/$name"/*.skel.json
done

# One layer, every file stamped with the same time and owner: the same inputs give the same bytes.
find "$root" -exec touch -h -d "@$epoch" {} +
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$root" -cf "$work/rootfs.tar" .
digest=$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)

cat > "$work/Containerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/bin HOME=/tmp
LABEL org.opencontainers.image.title="ecli-ts" \\
      org.opencontainers.image.description="ecli: run eunomia-bpf eBPF packages (an ecli-compatible runner in TypeScript)" \\
      org.opencontainers.image.version="$version" \\
      io.ecli-ts.rootfs.sha256="$digest"
ENTRYPOINT ["/usr/bin/node", "/opt/ecli/bin/ecli.cjs"]
CMD ["run", "/opt/ecli/examples/execsnoop/package.json"]
EOF
"${podman_cmd[@]}" build --quiet --timestamp "$epoch" --network none --pull=never -t "$image" -f "$work/Containerfile" "$work" >/dev/null
size=$(du -sh "$work/rootfs.tar" | cut -f1)
echo "image: built $image (rootfs $size, sha256 $digest)" >&2
