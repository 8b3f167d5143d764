/* Suite 3: the exceptions table (C-driven; its size is asserted). */
#include "cfh_test.h"

TestSuite(errors, .timeout = CFH_SUITE_TIMEOUT);

Test(errors, table_has_at_least_50_entries)
{
    long long n = 0;
    cfh_test_init();
    cr_assert_eq(cfh_load("errors.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_eval_long("table_size()", &n), 0, "%s", cfh_error());
    fprintf(stderr, "exceptions table: %lld entries\n", n);
    cr_assert_geq(n, 50, "only %lld entries", n);
    cfh_test_fini();
}

CFH_CASE(errors, "errors.py", run_table)
CFH_CASE(errors, "errors.py", hierarchy)
CFH_CASE(errors, "errors.py", int_division_by_zero_defined)

Test(errors, refleak_of_the_table)
{
    cfh_refleak_case("errors.py", "run_table", 2, 4);
}

Test(errors, refleak_of_the_definition_errors)
{
    cfh_refleak_case("errors.py", "definition_errors", 2, 4);
}
