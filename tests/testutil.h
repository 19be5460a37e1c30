/* testutil.h - tiny assertion helpers for C tests: every failed check prints file:line and the
 * values, and the test exits non-zero at the end (test_done). */
#ifndef ARTISTNET_TESTUTIL_H
#define ARTISTNET_TESTUTIL_H
#include <stddef.h>
#include <stdio.h>

extern int test_failures;
extern int test_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        test_checks++;                                                               \
        if (!(cond)) {                                                               \
            test_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        test_checks++;                                                               \
        if (!(cond)) {                                                               \
            test_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

/* Compares a[i] to b[i]; passes when |a-b| <= atol + rtol*|b| for all i. Prints the worst element. */
int test_close(const char *what, const float *a, const float *b, size_t n, double atol, double rtol);
int test_close_d(const char *what, const double *a, const double *b, size_t n, double atol, double rtol);

/* Reads a whole file (fixture) into a malloc'ed buffer; aborts the test with a message on failure. */
void *test_read_file(const char *path, size_t *n);
/* $ARTISTNET_FIXTURES/name (static buffer) */
const char *test_fixture(const char *name);

/* prints "N passed, M failed" and returns the exit status */
int test_done(const char *name);
#endif
