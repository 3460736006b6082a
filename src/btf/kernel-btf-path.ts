/** Where the running kernel publishes its own BTF (CO-RE's target, vmlinux.h's source). */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';
