/* leak_tls.c - run by scripts/fuzz before the targets, under the same sanitizers and LSAN_OPTIONS
 * (use_tls=0, as libFuzzer's leak checks between inputs): after a training call on oneDNN's
 * kernels, a leak check made while the thread is still alive must find nothing. The kernels of a
 * thread's cache once lived only in thread-local storage, which such a check does not scan: a fuzzed
 * model with new conv shapes read as a 1-4 MB leak inside libdnnl (a flake of fuzz_model in CI).
 * Exit 0: clean; 1: a leak; 2: the set-up failed. Without oneDNN in the build it checks nothing
 * and says so. */
#include "nn/nn.h"
#include "nn/nn_blas.h"

#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    if (nn_kernels() != NN_KERNELS_ONEDNN) {
        printf("leak_tls: the convolutions do not run on oneDNN here; nothing to check\n");
        return 0;
    }
    enum { N = 16 };
    nn_model *m;
    char err[512];
    if (nn_make(3, N, &m, err, sizeof err)) {
        fprintf(stderr, "leak_tls: %s\n", err);
        return 2;
    }
    nn_init(m, 1);
    float *segs = calloc((size_t)N * NN_SEG_SIZE, sizeof *segs);
    int labels[N] = {0};
    nn_train_opts opt = {N, 0.0f, 0, NULL, NULL, NULL};
    double loss;
    int rc = segs ? nn_train_accumulate(m, segs, labels, N, &opt, &loss, err, sizeof err) : -1;
    nn_free(m);
    free(segs);
    if (rc) {
        fprintf(stderr, "leak_tls: training call failed: %s\n", segs ? err : "out of memory");
        return 2;
    }
    if (__lsan_do_recoverable_leak_check()) {
        fprintf(stderr, "leak_tls: a leak check that skips thread-local storage found oneDNN's cached kernels\n");
        return 1;
    }
    printf("leak_tls: a training call's oneDNN kernels are reachable outside thread-local storage\n");
    return 0;
}
