/* Suite 5: large-sequence conversion through the shared routine. */
#include "cfh_test.h"

TestSuite(seqconv, .timeout = CFH_SUITE_TIMEOUT);

CFH_CASE(seqconv, "seqconv.py", all_sequence_kinds)
CFH_CASE(seqconv, "seqconv.py", shapes_accept_every_kind)
CFH_CASE(seqconv, "seqconv.py", million_elements)
CFH_CASE(seqconv, "seqconv.py", bad_item_names_position)
CFH_CASE(seqconv, "seqconv.py", overflow_is_overflowerror)
CFH_CASE(seqconv, "seqconv.py", generator_raising_keeps_cause)
CFH_CASE(seqconv, "seqconv.py", ten_thousand_inputs)

Test(seqconv, refleak)
{
    cfh_refleak_case("seqconv.py", "refleak_body", 3, 6);
}

Test(seqconv, refleak_of_built_in_sequences)
{
    cfh_refleak_case("seqconv.py", "pure_python_refleak_body", 3, 6);
}
