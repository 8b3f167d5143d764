/* Suite 1: lifetime and GC stress of node wrappers, fusions and caches. */
#include "cfh_test.h"

TestSuite(lifetime, .timeout = CFH_SUITE_TIMEOUT);

CFH_CASE(lifetime, "lifetime.py", accessor_keepalive)
CFH_CASE(lifetime, "lifetime.py", fusion_dies_with_last_wrapper)
CFH_CASE(lifetime, "lifetime.py", fec_fusion_keeps_cache_state)
CFH_CASE(lifetime, "lifetime.py", wrapper_identity)
CFH_CASE(lifetime, "lifetime.py", cycles_through_wrappers)
CFH_CASE(lifetime, "lifetime.py", many_fusions_loop)

Test(lifetime, many_fusions_threads)
{
    cfh_watched_case("lifetime.py", "many_fusions_threads", 120.0);
}

Test(lifetime, refleak)
{
    cfh_refleak_case("lifetime.py", "refleak_body", 3, 6);
}

Test(lifetime, refleak_of_definitions)
{
    cfh_refleak_case("lifetime.py", "definition_refleak_body", 3, 6);
}
