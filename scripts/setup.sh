#!/usr/bin/env bash
# Installs what ecc/ecli and the tests need, only where it is missing (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
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
[ -f /usr/include/x86_64-linux-gnu/sys/sdt.h ] || [ -f /usr/include/sys/sdt.h ] || need_apt+=(systemtap-sdt-dev)
if [ "${ECLI_SETUP_BENCH:-0}" = 1 ]; then
  command -v bpftrace >/dev/null || need_apt+=(bpftrace)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system packages: ${need_apt[*]}; run 'sudo make setup'" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# tracepoints need tracefs; many minimal systems do not mount it.
if [ "$(id -u)" = 0 ] && [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || echo "setup: could not mount tracefs" >&2
fi

# npm ci keeps optional dependencies: koffi's native part lives in one.
if [ ! -d node_modules/koffi ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
