/* Suite: the module across interpreters: rounds of initialise, import and
 * define a fusion, finalise, in one process (cfh_cycles), against the same
 * rounds without the module. Live blocks, and in a debug interpreter the
 * total reference count, must not grow per round; nor must RSS, judged
 * from 200 rounds (CFUSER_HARNESS_SCALE >= 4). The
 * conformance kit's lifecycle row runs the same rounds (1,000 by default)
 * through `cfharness cycles`. */
#include <stdlib.h>

#include "cfh_test.h"

TestSuite(lifecycle, .timeout = CFH_SUITE_TIMEOUT);

static const char *const MODULE_ROUND =
    "import cfuser\n"
    "with cfuser.FusionDefinition() as fd:\n"
    "    x = fd.define_tensor(shape=[-1, -1], dtype=cfuser.DataType.Float)\n"
    "    fd.add_output(fd.ops.sum(fd.ops.neg(x), dims=[1]))\n"
    "repr(fd.fusion)\n";

static cfh_cycles_result with_module, without;

Test(lifecycle, init_import_finalize_rounds_do_not_grow)
{
    if (cfh_instrumented())
        cr_skip_test("rounds of a whole interpreter under a sanitizer or valgrind take minutes; "
                     "the normal and debug-interpreter builds run them");
    const char *sc = getenv("CFUSER_HARNESS_SCALE");
    int n = 50 * (sc && atoi(sc) > 1 ? atoi(sc) : 1);
    cr_assert_eq(cfh_cycles(n, "import sys\n", &without), 0, "the rounds without the module stopped");
    cr_assert_eq(cfh_cycles(n, MODULE_ROUND, &with_module), 0,
                 "round %d of %d stopped (see stderr)", with_module.completed + 1, n);
    double blocks = with_module.blocks_per_round - without.blocks_per_round;
    double refs = with_module.refs_per_round - without.refs_per_round;
    double rss = with_module.rss_kib_per_round - without.rss_kib_per_round;
    fprintf(stderr, "lifecycle: %d rounds in %.1f s; growth per round net of the rounds without the module: "
            "blocks %+.3f, refs %+.3f%s, RSS %+.2f KiB\n", n, with_module.seconds, blocks, refs,
            with_module.refs[0] < 0 ? " (not counted: release interpreter)" : "", rss);
    cr_assert_leq(blocks, 0.5, "live blocks grow by %.2f a round", blocks);
    cr_assert_leq(refs, 0.5, "the total reference count grows by %.2f a round", refs);
    if (n >= 200) /* RSS moves by pages: judged over many rounds only (the kit's 1,000) */
        cr_assert_leq(rss, 4.0, "RSS grows by %.2f KiB a round", rss);
}
