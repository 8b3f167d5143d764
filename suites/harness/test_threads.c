/* Suite 4: the GIL and threads, every case under the watchdog. */
#include "cfh_test.h"

TestSuite(threads, .timeout = CFH_SUITE_TIMEOUT);

Test(threads, background_progress)
{
    cfh_watched_case("threads.py", "background_progress", 60.0);
}

Test(threads, concurrent_execute_one_cache)
{
    cfh_watched_case("threads.py", "concurrent_execute_one_cache", 120.0);
}

Test(threads, definitions_in_threads_stay_apart)
{
    cfh_watched_case("threads.py", "definitions_in_threads_stay_apart", 60.0);
}
