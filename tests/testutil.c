/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int test_failures;
int test_checks;

static int close_impl(const char *what, size_t n, double atol, double rtol,
                      double (*get)(const void *, size_t), const void *a, const void *b)
{
    double worst = 0, wa = 0, wb = 0;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double x = get(a, i), y = get(b, i);
        double d = fabs(x - y);
        double excess = d - (atol + rtol * fabs(y));
        if (!(excess <= 0)) bad++;
        if (!(d <= worst) || (isnan(d) && !isnan(worst))) { worst = d; wi = i; wa = x; wb = y; }
    }
    test_checks++;
    fprintf(stderr, "%s: %zu values, worst |diff| %.3g at %zu (%.7g vs %.7g), tol %.1g + %.1g*|ref|: %s\n",
            what, n, worst, wi, wa, wb, atol, rtol, bad ? "FAIL" : "ok");
    if (bad) test_failures++;
    return bad == 0;
}

static double get_f(const void *p, size_t i) { return ((const float *)p)[i]; }
static double get_d(const void *p, size_t i) { return ((const double *)p)[i]; }

int test_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol)
{
    return close_impl(what, n, atol, rtol, get_f, a, b);
}

int test_close_d(const char *what, const double *a, const double *b, size_t n, double atol, double rtol)
{
    return close_impl(what, n, atol, rtol, get_d, a, b);
}

void *test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open fixture %s\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
    fclose(f);
    ((char *)buf)[len] = 0;
    if (n) *n = (size_t)len;
    return buf;
}

const char *test_fixture(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("ARTISTNET_FIXTURES");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "tests/fixtures", name);
    return buf;
}

int test_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}
