/* Suite 6: DLPack capsules crafted in C (harness/src/dlpack_craft.c). */
#include "cfh_test.h"

TestSuite(dlpack, .timeout = CFH_SUITE_TIMEOUT);

CFH_CASE(dlpack, "dlpack.py", well_formed_accepted)
CFH_CASE(dlpack, "dlpack.py", asks_for_versioned)
CFH_CASE(dlpack, "dlpack.py", malformed_rejected)
CFH_CASE(dlpack, "dlpack.py", deleter_once_under_load)
CFH_CASE(dlpack, "dlpack.py", torch_roundtrip)

Test(dlpack, refleak)
{
    cfh_refleak_case("dlpack.py", "refleak_body", 3, 6);
}
