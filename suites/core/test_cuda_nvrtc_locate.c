#define _GNU_SOURCE
/* test_cuda_nvrtc_locate.c - where the CUDA backend looks for NVRTC: the
 * environment's choice, the toolkit, then the candidates an embedding names
 * (the Python bindings name the nvidia-cuda-nvrtc wheel's), and an error that
 * lists every place it looked. Each test runs in its own process, so NVRTC
 * is not loaded yet when it starts. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cfuser/cuda.h"

static const char *const BOGUS[] = {"/nonexistent/cfuser-a/libnvrtc.so.13",
                                    "/nonexistent/cfuser-b/libnvrtc.so.12"};

static void no_environment(void)
{
    unsetenv("CFUSER_NVRTC_LIBRARY");
    unsetenv("CUDA_HOME");
    unsetenv("CUDA_PATH");
}

Test(nvrtc_locate, candidates_come_after_the_toolkit_and_the_error_lists_all)
{
    no_environment();
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(BOGUS, 2), CF_OK);
    int major = 0, minor = 0;
    char path[PATH_MAX] = "";
    if (cf_cuda_nvrtc_info(&major, &minor, path, sizeof path) == CF_OK) {
        /* a toolkit on this machine: found before the candidates */
        cr_assert_geq(major, 12);
        cr_assert_null(strstr(path, "/nonexistent/"), "%s", path);
        return;
    }
    const char *msg = cf_error_last()->message;
    cr_assert_eq(cf_error_last()->kind, CF_ERR_DEVICE);
    cr_assert(strstr(msg, "pip install nvidia-cuda-nvrtc"), "message: %s", msg);
    cr_assert(strstr(msg, "CFUSER_NVRTC_LIBRARY"), "message: %s", msg);
    cr_assert(strstr(msg, "could not open libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so, "
                          "/usr/local/cuda/lib64/libnvrtc.so.13, /usr/local/cuda/lib64/libnvrtc.so.12, "
                          "/nonexistent/cfuser-a/libnvrtc.so.13, /nonexistent/cfuser-b/libnvrtc.so.12"),
              "message: %s", msg);
}

Test(nvrtc_locate, cuda_home_is_part_of_the_toolkit_search)
{
    no_environment();
    setenv("CUDA_HOME", "/nonexistent/cfuser-toolkit", 1);
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(BOGUS, 1), CF_OK);
    if (cf_cuda_nvrtc_info(NULL, NULL, NULL, 0) == CF_OK)
        return;
    const char *msg = cf_error_last()->message;
    const char *home = strstr(msg, "/nonexistent/cfuser-toolkit/lib64/libnvrtc.so.13");
    const char *cand = strstr(msg, BOGUS[0]);
    cr_assert(home && cand && home < cand, "message: %s", msg);
}

Test(nvrtc_locate, without_candidates_the_error_says_no_wheel_was_found)
{
    no_environment();
    if (cf_cuda_nvrtc_info(NULL, NULL, NULL, 0) == CF_OK)
        return;
    cr_assert(strstr(cf_error_last()->message, "no nvidia-cuda-nvrtc wheel found"), "message: %s",
              cf_error_last()->message);
}

Test(nvrtc_locate, a_later_list_replaces_the_earlier_one)
{
    no_environment();
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(BOGUS, 1), CF_OK);
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(BOGUS + 1, 1), CF_OK);
    if (cf_cuda_nvrtc_info(NULL, NULL, NULL, 0) == CF_OK)
        return;
    const char *msg = cf_error_last()->message;
    cr_assert_null(strstr(msg, BOGUS[0]), "message: %s", msg);
    cr_assert(strstr(msg, BOGUS[1]), "message: %s", msg);
}

Test(nvrtc_locate, bad_lists_are_refused)
{
    const char *const with_null[] = {"/x/libnvrtc.so.13", NULL};
    const char *const with_empty[] = {""};
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(with_null, 2), CF_ERR_VALUE);
    cr_assert(strstr(cf_error_last()->message, "path 1 is empty"), "%s", cf_error_last()->message);
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(with_empty, 1), CF_ERR_VALUE);
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(NULL, 3), CF_ERR_VALUE);
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(NULL, 0), CF_OK);
}

/* make check names the pinned wheel's NVRTC in CFUSER_NVRTC_LIBRARY; given
 * as a candidate instead, with no variable set, it is opened from there. */
Test(nvrtc_locate, a_wheels_nvrtc_opens_as_a_candidate_with_no_variable)
{
    const char *wheel = getenv("CFUSER_NVRTC_LIBRARY");
    if (!wheel || !*wheel)
        cr_skip_test("CFUSER_NVRTC_LIBRARY names no wheel NVRTC here");
    char want[PATH_MAX];
    cr_assert_not_null(realpath(wheel, want), "%s", wheel);
    no_environment();
    const char *const cands[] = {BOGUS[0], want};
    cr_assert_eq(cf_cuda_set_nvrtc_candidates(cands, 2), CF_OK);
    int major = 0, minor = 0;
    char path[PATH_MAX] = "", got[PATH_MAX];
    cr_assert_eq(cf_cuda_nvrtc_info(&major, &minor, path, sizeof path), CF_OK, "%s",
                 cf_error_last()->message);
    cr_assert_geq(major, 12);
    cr_assert_not_null(realpath(path, got), "%s", path);
    cr_assert_str_eq(got, want); /* no toolkit here; with one, it would win */
}
