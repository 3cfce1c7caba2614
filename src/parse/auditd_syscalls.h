/* auditd_syscalls.h: syscall names for the auditd parser (auditd_syscalls.c). */
#ifndef HISN_AUDITD_SYSCALLS_H
#define HISN_AUDITD_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>

#define AUDITD_ARCH_X86_64 0xc000003eu  /* AUDIT_ARCH_X86_64 */
#define AUDITD_ARCH_AARCH64 0xc00000b7u /* AUDIT_ARCH_AARCH64 */

/* The name of syscall nr on the audit architecture arch, or NULL when unknown. */
const char *auditd_syscall_name(uint32_t arch, uint64_t nr);

#endif
