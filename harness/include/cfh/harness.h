/* cfh/harness.h - embed CPython, run Python code in it, and check it.
 *
 * The harness owns one interpreter per process (Criterion runs each test in
 * its own process, so each test calls cfh_init() in its body or .init and
 * cfh_fini() at its end). Functions return 0 on success and -1 on failure;
 * cfh_error() then says what went wrong, with the Python traceback when
 * Python raised.
 */
#ifndef CFH_HARNESS_H
#define CFH_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status of a process whose watchdog fired. */
#define CFH_EXIT_DEADLOCK 86

/* --- interpreter ------------------------------------------------------- */

typedef enum cfh_allocator {
    CFH_ALLOC_BUILD = 0,   /* what the build chose (malloc under sanitizers,
                              debug hooks in debug builds, pymalloc else)   */
    CFH_ALLOC_PYMALLOC,
    CFH_ALLOC_MALLOC,      /* every block visible to ASan/valgrind          */
    CFH_ALLOC_DEBUG,       /* pymalloc with debug hooks                     */
    CFH_ALLOC_MALLOC_DEBUG /* malloc with debug hooks                       */
} cfh_allocator;

typedef struct cfh_options {
    cfh_allocator allocator; /* env CFUSER_HARNESS_ALLOCATOR overrides     */
    const char *pythonpath;  /* NULL: env CFUSER_PYTHONPATH, else build's  */
    int argc;                /* sys.argv (argv[0] may be NULL: "cfharness")*/
    const char *const *argv;
} cfh_options;

/* Initialise an isolated interpreter with the package dir on sys.path,
 * the counting allocator installed and faulthandler enabled. */
int cfh_init(void);
int cfh_init_with(const cfh_options *opt);
/* Py_FinalizeEx, checked. */
int cfh_fini(void);

/* The last failure's description (never NULL). */
const char *cfh_error(void);
/* Where the package was looked up (for messages). */
const char *cfh_pythonpath(void);

/* --- running code ------------------------------------------------------ */

/* Run source in a fresh namespace (__name__ == "__main__"). */
int cfh_run(const char *source);
/* Run a file: path absolute, or relative to the embedded-snippet dir. */
int cfh_run_file(const char *path);
/* Load a file into a namespace kept for cfh_call (replaces the previous). */
int cfh_load(const char *path);
/* Call name() from the loaded namespace; it must return None or a bool
 * true value. */
int cfh_call(const char *name);
/* Evaluate an expression in the loaded namespace as a C integer. */
int cfh_eval_long(const char *expr, long long *out);
/* Evaluate an expression in the loaded namespace as text (copied). */
int cfh_eval_str(const char *expr, char *buf, size_t cap);
/* Run a pytest file embedded: pytest.main([path, args...]); *exit_code is
 * pytest's exit code. */
int cfh_pytest(const char *path, const char *extra_args, int *exit_code);
/* Absolute path of a file under suites/embedded (static buffer). */
const char *cfh_snippet_path(const char *name);

/* --- refleak loop (as regrtest -R) -------------------------------------- */

#define CFH_REFLEAK_MAX 64

typedef struct cfh_refleak {
    int warmups, repeats;          /* in                                   */
    long long blocks[CFH_REFLEAK_MAX]; /* deltas of live blocks per repeat */
    long long refs[CFH_REFLEAK_MAX];   /* deltas of sys.gettotalrefcount() */
    long long fds[CFH_REFLEAK_MAX];    /* deltas of open file descriptors  */
    int has_refs;                  /* interpreter has gettotalrefcount     */
    int refs_judged;               /* has_refs, and the body runs no code
                                      built against other headers (below) */
    int leaked_blocks, leaked_refs, leaked_fds; /* every delta positive    */
    double seconds;                /* wall time of the whole loop          */
} cfh_refleak;

/* Call name() from the loaded namespace warmups+repeats times, collecting
 * garbage before each measurement. Returns 0 when it ran (leaks are in
 * *r, see cfh_refleak_leaked), -1 when the code raised.
 *
 * References are judged only when the function has no true attribute
 * `foreign_refcounts`: a body that runs release-built extensions (numpy,
 * torch) in a debug interpreter moves sys.gettotalrefcount() by their
 * uncounted Py_INCREF/Py_DECREF, so its reference deltas are shown, not
 * judged (its blocks and descriptors still are). */
int cfh_refleak_run(const char *name, cfh_refleak *r);
int cfh_refleak_leaked(const cfh_refleak *r);
/* One line describing the deltas, for assertion messages (static buffer). */
const char *cfh_refleak_describe(const cfh_refleak *r);
/* Live blocks in every Python domain plus core's hook, now. */
long long cfh_live_blocks(void);
/* Open file descriptors of the process, now. */
long cfh_open_fds(void);

/* --- allocation failure injection --------------------------------------- */

/* Counting allocator over PyMem RAW/MEM/OBJ (installed by cfh_init) and a
 * cf_allocator for core's hook. Arm: the n-th allocation (1-based) counted
 * from now fails, once. n == 0 disarms. */
void cfh_fail_arm(uint64_t n);
void cfh_fail_disarm(void);
/* Allocations counted since the last arm; whether the failure fired. */
uint64_t cfh_fail_count(void);
int cfh_fail_fired(void);
/* Core's allocator (a const cf_allocator *, see cfuser/alloc.h) routed
 * through the same counter, as an opaque pointer so this header does not
 * need core's. */
const void *cfh_core_allocator(void);

typedef struct cfh_sweep {
    uint64_t max_n;       /* in: stop after this many points (0: 100000)   */
    uint64_t points;      /* out: failure points tried                     */
    uint64_t allocs;      /* out: allocations of one clean call            */
    uint64_t memory_errors, other_errors, successes;
    uint64_t system_errors; /* of other_errors: SystemError, a binding bug */
    char first_other[256];/* first non-MemoryError exception, for review   */
} cfh_sweep;

/* For n = 1, 2, ...: call name() from the loaded namespace with the n-th
 * allocation failing, until a call completes without reaching the n-th
 * allocation. Each call must return normally or raise (MemoryError or a
 * clean error); afterwards the interpreter must still work (a check
 * snippet runs after each point). A crash crashes the test. */
int cfh_fail_sweep(const char *name, cfh_sweep *s);

/* --- watchdog ----------------------------------------------------------- */

/* Start a deadline for what follows. seconds is the deadline on the
 * reference host; it is multiplied by cfh_time_factor(). Time is the calling
 * thread's own: the clock less the seconds it waited for a CPU while runnable
 * (its run-queue delay, from /proc/self/task/TID/schedstat), so load that
 * comes to the host mid-run does not fail a deadline; blocked time counts.
 * When it passes,
 * a line on stderr says so and the code gets as long again; still running
 * then: "deadlock: <what> did not finish within N s, ...", the traceback of
 * every Python thread, and _exit(CFH_EXIT_DEADLOCK). */
int cfh_watchdog_start(const char *what, double seconds);
/* Stop it: the seconds the code ran past its (scaled) deadline, in its own
 * time, 0 when it finished in time. */
double cfh_watchdog_stop(void);
/* After a stop that returned > 0: "<what> took T s (Q s of it waiting for
 * a CPU): O s (P%) over its deadline D s (B s on the reference host x host factor F; calibration:
 * ...)"; "" otherwise. */
const char *cfh_watchdog_report(void);

/* --- host speed ----------------------------------------------------------- */

/* The factor deadlines are multiplied by: CFUSER_HARNESS_TIME_FACTOR, which
 * sanitizers/calibrate.py measures at the start of a run (a number in
 * [1, 1000]; anything else is reported once on stderr and taken as 1). */
double cfh_time_factor(void);
/* Where the factor came from (CFUSER_HARNESS_CALIBRATION), "" when unset. */
const char *cfh_calibration(void);
/* seconds (a deadline on the reference host) x cfh_time_factor(). */
double cfh_deadline(double seconds);

/* --- module lifecycle ---------------------------------------------------- */

#define CFH_CYCLES_SAMPLES 64

typedef struct cfh_cycles_result {
    int cycles, completed;         /* rounds asked for, rounds that ran    */
    double seconds;
    int samples;                   /* rounds sampled: at[0..samples)       */
    int at[CFH_CYCLES_SAMPLES];
    long long blocks[CFH_CYCLES_SAMPLES]; /* sys.getallocatedblocks()      */
    long long refs[CFH_CYCLES_SAMPLES];   /* sys.gettotalrefcount(), -1    */
    long long rss_kib[CFH_CYCLES_SAMPLES];/* after Py_FinalizeEx           */
    /* least-squares growth per round after the first tenth of the rounds
     * (the first rounds fill caches); refs 0 without a debug interpreter */
    double blocks_per_round, refs_per_round, rss_kib_per_round;
} cfh_cycles_result;

/* n rounds of Py_InitializeFromConfig, PyRun_SimpleString(code) and
 * Py_FinalizeEx in this process, which must not have initialised Python
 * (run it in a process of its own). Returns 0 when every round ran, -1
 * otherwise (the reason on stderr). cycles.c. */
int cfh_cycles(int n, const char *code, cfh_cycles_result *r);
/* cfh_cycles, printed as one JSON object; the exit status for main(). */
int cfh_cycles_main(int n, const char *code);

/* --- sanitizers --------------------------------------------------------- */

/* Run LeakSanitizer now (when linked in): the number of leaks found is
 * returned (0 when none or when LSan is absent). Report on stderr. */
int cfh_leak_check(void);
/* 1 under ASan, 2 under valgrind, 0 otherwise. */
int cfh_instrumented(void);

#ifdef __cplusplus
}
#endif
#endif
