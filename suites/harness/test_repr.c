/* Suite 2: repr/str of every public type, also in odd states. */
#include "cfh_test.h"

TestSuite(repr, .timeout = CFH_SUITE_TIMEOUT);

CFH_CASE(repr, "repr.py", every_node_type)
CFH_CASE(repr, "repr.py", node_of_gone_fusion)
CFH_CASE(repr, "repr.py", half_built_fusion)
CFH_CASE(repr, "repr.py", empty_fusion)
CFH_CASE(repr, "repr.py", print_math_form)
