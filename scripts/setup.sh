#!/usr/bin/env bash
# Installs what ecc/ecli and the tests need, only where it is missing (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# Debian 12 ships clang 14 and libbpf 1.1 by default; BPF sources written today need newer
# (BPF_UPROBE, bpf_for, -mcpu=v4). Debian's own archive has the cure: clang-19 in main, libbpf
# 1.4 and bpftool 7.5 in bookworm-backports, added here as a second suite of the same archive.
backports=()
debian_codename=$( (. /etc/os-release && [ "${ID:-}" = debian ] && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)
# The installed version of a package, or nothing.
installed_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '$3 == "installed" { print $4 }'; }
# True when package $1 is installed at version $2 or later.
installed_at_least() {
  local version
  version=$(installed_version "$1")
  [ -n "$version" ] && dpkg --compare-versions "$version" ge "$2"
}
if [ "$debian_codename" = bookworm ]; then
  command -v clang-19 >/dev/null || need_apt+=(clang-19)
  command -v ld.lld-19 >/dev/null || need_apt+=(lld-19)
  command -v llvm-strip-19 >/dev/null || need_apt+=(llvm-19)
  # The Wasm tests build their guests with clang-19 for wasm32-wasi: its compiler runtime, and wasm-ld (lld-19).
  [ -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ] || need_apt+=(libclang-rt-19-dev-wasm32)
  installed_at_least libbpf1 1:1.4 || backports+=(libbpf1)
  installed_at_least libbpf-dev 1:1.4 || backports+=(libbpf-dev)
  installed_at_least bpftool 7.5 || backports+=(bpftool)
fi
command -v clang >/dev/null || need_apt+=(clang)
command -v llvm-strip >/dev/null || need_apt+=(llvm)
[ -f /usr/include/bpf/bpf_helpers.h ] || need_apt+=(libbpf-dev)
ldconfig -p 2>/dev/null | grep -q 'libbpf.so.1 ' || need_apt+=(libbpf1)
command -v bpftool >/dev/null || need_apt+=(bpftool)
command -v ip >/dev/null && command -v tc >/dev/null || need_apt+=(iproute2)
command -v cc >/dev/null || need_apt+=(gcc)
command -v nm >/dev/null || need_apt+=(binutils)
command -v make >/dev/null || need_apt+=(make)
# The execsnoop-full test runs libbpf-tools' execsnoop beside ours; the benchmark also uses it.
[ -x /usr/sbin/execsnoop ] || need_apt+=(libbpf-tools)
# Real servers for the registry and metrics tests, and <sys/sdt.h> for the USDT test.
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
# curl: a URL test pins the digest users take with curl | sha256sum.
command -v curl >/dev/null || need_apt+=(curl)
# The signing tests check ecli's keys and signatures with an independent implementation.
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import cryptography, nacl' 2>/dev/null || need_apt+=(python3 python3-cryptography python3-nacl)
[ -f /usr/include/x86_64-linux-gnu/sys/sdt.h ] || [ -f /usr/include/sys/sdt.h ] || need_apt+=(systemtap-sdt-dev)
# The C library of the Wasm test guests (wasm32-wasi).
[ -f /usr/include/wasm32-wasi/stdio.h ] || need_apt+=(wasi-libc)
# Container enrichment tests and `make image`: real podman containers run with runc (crun refuses
# hybrid cgroups) from a local image of busybox-static.
command -v podman >/dev/null || need_apt+=(podman)
command -v runc >/dev/null || need_apt+=(runc)
[ -n "$(installed_version busybox-static)" ] || need_apt+=(busybox-static)
if [ "${ECLI_SETUP_BENCH:-0}" = 1 ]; then
  command -v bpftrace >/dev/null || need_apt+=(bpftrace)
fi
# A package wanted from backports is not asked for from bookworm too.
for package in "${backports[@]}"; do
  for i in "${!need_apt[@]}"; do [ "${need_apt[$i]}" = "$package" ] && unset 'need_apt[i]'; done
done
need_apt=("${need_apt[@]}")
if [ ${#need_apt[@]} -gt 0 ] || [ ${#backports[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system packages: ${need_apt[*]} ${backports[*]/%/ (bookworm-backports)}; run 'sudo make setup'" >&2
    exit 1
  fi
  if [ ${#backports[@]} -gt 0 ] && ! grep -rhs -v '^[[:space:]]*#' /etc/apt/sources.list /etc/apt/sources.list.d/ | grep -qw 'bookworm-backports'; then
    echo "setup: adding Debian's bookworm-backports suite (/etc/apt/sources.list.d/bookworm-backports.sources)" >&2
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >/etc/apt/sources.list.d/bookworm-backports.sources
  fi
  echo "setup: installing ${need_apt[*]} ${backports[*]/%//bookworm-backports}" >&2
  apt-get update -qq
  # pkg/suite takes only these packages from backports; everything else stays on bookworm.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" "${backports[@]/%//bookworm-backports}" >/dev/null
fi

# tracepoints need tracefs; many minimal systems do not mount it.
if [ "$(id -u)" = 0 ] && [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || echo "setup: could not mount tracefs" >&2
fi

# npm ci keeps optional dependencies: koffi's native part lives in one.
if [ ! -d node_modules/koffi ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
