/* test_util.c - option parsing (defaults, ranges, junk, required), number parsing, UTF-8, hashes,
 * available memory. */
#include "testutil.h"
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    long l;
    double d;
    CHECK(util_parse_long("42", 0, 100, &l) == 0 && l == 42);
    CHECK(util_parse_long("42x", 0, 100, &l) != 0);
    CHECK(util_parse_long("", 0, 100, &l) != 0);
    CHECK(util_parse_long("101", 0, 100, &l) != 0);
    CHECK(util_parse_double("0.5", 0, 1, &d) == 0 && d == 0.5);
    CHECK(util_parse_double("nan", 0, 1, &d) != 0);
    CHECK(util_parse_double("1e400", 0, 1e300, &d) != 0);

    int epochs = -1, quiet = -1;
    double lr = -1;
    const char *out = "x";
    util_opt opts[] = {
        {"epochs", UTIL_OPT_INT, &epochs, "10", "epochs", 1, 1000, 0},
        {"lr", UTIL_OPT_DOUBLE, &lr, "0.1", "learning rate", 0, 10, 0},
        {"out", UTIL_OPT_STRING, &out, NULL, "output", 1, 0, 1},
        {"quiet", UTIL_OPT_FLAG, &quiet, NULL, "no progress", 1, 0, 0},
        {0}};
    char err[UTIL_ERRLEN];
    char *a1[] = {"train", "--out", "m.h5", "--lr=0.05"};
    CHECK(util_opts_parse("train", "t", opts, 4, a1, err, sizeof err) == 0);
    CHECK(epochs == 10 && lr == 0.05 && quiet == 0 && !strcmp(out, "m.h5"));
    char *a2[] = {"train", "--epochs", "0", "--out", "m"};
    CHECK(util_opts_parse("train", "t", opts, 5, a2, err, sizeof err) == UTIL_EUSAGE);
    CHECK_MSG(strstr(err, "--epochs") && strstr(err, "'0'"), "%s", err);
    char *a3[] = {"train", "--epochs", "5"};
    CHECK(util_opts_parse("train", "t", opts, 3, a3, err, sizeof err) == UTIL_EUSAGE);
    CHECK_MSG(strstr(err, "--out is required") != NULL, "%s", err);
    char *a4[] = {"train", "--out", "m", "--bogus"};
    CHECK(util_opts_parse("train", "t", opts, 4, a4, err, sizeof err) == UTIL_EUSAGE);
    CHECK_MSG(strstr(err, "unknown option '--bogus'") != NULL, "%s", err);
    char *a5[] = {"train", "--out", "m", "--lr"};
    CHECK(util_opts_parse("train", "t", opts, 4, a5, err, sizeof err) == UTIL_EUSAGE);
    char *a6[] = {"train", "--quiet", "--out", "m", "--epochs", "7junk"};
    CHECK(util_opts_parse("train", "t", opts, 6, a6, err, sizeof err) == UTIL_EUSAGE);

    char line[] = "a\tb\t\tc\td", *f[3];
    CHECK(util_split_tabs(line, f, 3) == 3 && !strcmp(f[0], "a") && !strcmp(f[1], "b") && !strcmp(f[2], ""));
    char one[] = "x", *g[4];
    CHECK(util_split_tabs(one, g, 4) == 1 && !strcmp(g[0], "x"));
    CHECK(util_utf8_valid("caf\xc3\xa9", 5));
    CHECK(!util_utf8_valid("caf\xc3", 4));
    CHECK(!util_utf8_valid("\xff", 1));
    CHECK(!util_utf8_valid("\xc0\xaf", 2)); /* overlong */
    CHECK(!util_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    CHECK(util_fnv1a(UTIL_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(util_exit_status(UTIL_EINPUT) == 2 && util_exit_status(UTIL_EFAIL) == 1 &&
          util_exit_status(UTIL_HELP) == 0 && util_exit_status(UTIL_EINTR) == 3);
    /* available memory: the host's (Linux: /proc/meminfo, at most the cgroup's room), or the test hook */
    unsetenv("ARTISTNET_TEST_MEM_AVAILABLE_MB");
    const double avail = util_mem_available();
    CHECK_MSG(avail > 16e6 && avail < 1e15, "util_mem_available %g bytes", avail);
    setenv("ARTISTNET_TEST_MEM_AVAILABLE_MB", "2.5", 1);
    CHECK(util_mem_available() == 2.5 * 1048576.0);
    unsetenv("ARTISTNET_TEST_MEM_AVAILABLE_MB");
    /* large buffers: 2-MB aligned (huge-page advice), every byte writable; small ones plain */
    const size_t big = ((size_t)5 << 20) + 123;
    unsigned char *lb = util_alloc_large(big), *sb = util_alloc_large(100);
    CHECK(lb && sb && (uintptr_t)lb % ((size_t)2 << 20) == 0);
    if (lb) {
        memset(lb, 7, big);
        CHECK(lb[0] == 7 && lb[big - 1] == 7);
    }
    free(lb);
    free(sb);
    return test_done("test_util");
}
