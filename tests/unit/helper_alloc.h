/* tests/unit/helper_alloc.h: allocation-failure injection for the sweeps
 * that prove libcmcp returns CMCP_ENOMEM instead of crashing or leaking. */
#ifndef CMCP_TEST_HELPER_ALLOC_H
#define CMCP_TEST_HELPER_ALLOC_H

/* Routes libcmcp's allocations through counting hooks (none fails until
 * armed). alloc_fail_uninstall() restores plain malloc and disarms. */
void alloc_fail_install(void);
void alloc_fail_uninstall(void);
/* Restarts the count and fails the nth allocation from now (1-based);
 * 0 fails none. */
void alloc_fail_arm(long n);
/* Allocations counted since the last arm. */
long alloc_fail_count(void);

#endif /* CMCP_TEST_HELPER_ALLOC_H */
