/* timefactor.c - deadlines that follow the host.
 *
 * A deadline tuned on one machine is a flaky test on a slower one. The run
 * (sanitizers/calibrate.py, called by sanitizers/run-suites.sh) times a
 * fixed workload under the same build, sanitizer and interpreter before the
 * suites start, divides it by the time recorded on the reference host and
 * exports the quotient as CFUSER_HARNESS_TIME_FACTOR (>= 1), with a line
 * saying where it came from in CFUSER_HARNESS_CALIBRATION. Every watchdog
 * deadline is multiplied by it.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double cfh_time_factor(void)
{
    const char *s = getenv("CFUSER_HARNESS_TIME_FACTOR");
    if (s == NULL || *s == '\0')
        return 1.0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 1.0 || v > 1000.0) {
        static int warned;
        if (!warned) {
            warned = 1;
            fprintf(stderr, "cfharness: CFUSER_HARNESS_TIME_FACTOR=%s is not a number in "
                            "[1, 1000]; deadlines stay unscaled\n", s);
        }
        return 1.0;
    }
    return v;
}

const char *cfh_calibration(void)
{
    const char *s = getenv("CFUSER_HARNESS_CALIBRATION");
    return s ? s : "";
}

double cfh_deadline(double seconds)
{
    return seconds * cfh_time_factor();
}
