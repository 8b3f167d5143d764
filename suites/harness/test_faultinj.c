/* Suite 7: fail the n-th allocation of each binding entry point, for every
 * n the call reaches: MemoryError or a clean error, never a crash, a
 * SystemError, a leak or a broken interpreter. */
#include "cfh_test.h"

TestSuite(faultinj, .timeout = CFH_SUITE_TIMEOUT);

static void sweep(const char *fn)
{
    cfh_sweep s = {0};
    long long hooked = 0;
    cfh_test_init();
    cr_assert_eq(cfh_load("faultinj.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_eval_long("int(CORE_HOOKED)", &hooked), 0, "%s", cfh_error());
    cr_assert_eq(cfh_fail_sweep(fn, &s), 0, "%s", cfh_error());
    fprintf(stderr, "sweep %s: %llu points over %llu allocations (core %s): %llu MemoryError, "
            "%llu other errors, %llu recovered%s%s\n", fn, (unsigned long long)s.points,
            (unsigned long long)s.allocs, hooked ? "hooked" : "not hooked",
            (unsigned long long)s.memory_errors, (unsigned long long)s.other_errors,
            (unsigned long long)s.successes, s.first_other[0] ? "; first other: " : "",
            s.first_other);
    cr_assert_eq(s.system_errors, 0, "%s: SystemError under allocation failure: %s", fn,
                 s.first_other);
    cr_assert_gt(s.points, 0);
    cfh_test_fini();
}

#define SWEEP(fn) Test(faultinj, fn) { sweep(#fn); }

SWEEP(define_small_fusion)
SWEEP(define_tensor_only)
SWEEP(op_add)
SWEEP(execute_cached)
SWEEP(execute_new_fec)
SWEEP(fd_execute)
SWEEP(introspect)
SWEEP(reprs)
SWEEP(convert_ints)
SWEEP(error_path)
