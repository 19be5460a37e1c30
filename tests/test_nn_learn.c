/* test_nn_learn.c - the DCNN can learn: on 16 synthetic segments of 4 classes (a class-specific
 * band pattern in noise) training (batch 16 = 2 micro-batches of 8, dropout 0.5 with seeded masks,
 * Nesterov SGD, weight decay) drives the training loss near zero and the eval-mode predictions are
 * all right; two runs with the same seed give bit-identical weights (checksum). */
#include "test_nn_common.h"
#include "nn/nn_blas.h"
#include "testutil.h"
#include "util/util.h"

#include <string.h>

enum { C = 4, N = 16, STEPS = 60 };

static void make_data(float *segs, int *labels)
{
    tnn_formula(7, (size_t)N * NN_SEG_SIZE, 0.3, 0.4, segs);
    for (int i = 0; i < N; i++) {
        int c = i % C;
        labels[i] = c;
        float *s = segs + (size_t)i * NN_SEG_SIZE;
        for (int b = 24 * c; b < 24 * c + 24; b++)
            for (int t = 0; t < NN_IN_FRAMES; t++) s[b * NN_IN_FRAMES + t] += 0.5f * (float)(1 + sin(0.3 * t * (c + 1)));
    }
}

static double train(uint64_t seed, uint64_t *sum, double *first, int *correct)
{
    char err[UTIL_ERRLEN];
    nn_model *m;
    if (nn_make(C, N, &m, err, sizeof err)) return 1e9;
    nn_init(m, seed);
    nn_set_norm(m, 0.6f, 0.35f);
    float *segs = malloc((size_t)N * NN_SEG_SIZE * sizeof(float));
    int labels[N];
    make_data(segs, labels);
    nn_sgd sgd = {0.02, 0.9, 1, 2e-5, NULL, NULL};
    double loss = 0;
    for (int s = 0; s < STEPS; s++) {
        nn_train_opts o = {8, 0.5f, nn_hash64(seed * 1000 + s), NULL, NULL, NULL};
        if (nn_train_accumulate(m, segs, labels, N, &o, &loss, err, sizeof err) || nn_update(m, &sgd, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            loss = 1e9;
            break;
        }
        loss /= N;
        if (s == 0) *first = loss;
    }
    /* training loss without dropout at the final weights (train-mode BN) */
    nn_train_opts o = {8, 0.0f, 0, NULL, NULL, NULL};
    nn_train_accumulate(m, segs, labels, N, &o, &loss, err, sizeof err);
    nn_grads_zero(m);
    loss /= N;
    float logits[N * C];
    *correct = 0;
    if (!nn_forward_logits(m, segs, N, logits, err, sizeof err))
        for (int i = 0; i < N; i++) {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (logits[i * C + c] > logits[i * C + best]) best = c;
            *correct += best == labels[i];
        }
    *sum = nn_checksum(m);
    free(segs);
    nn_free(m);
    return loss;
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv); /* the kernels artistnet uses, one thread */
    uint64_t s1, s2;
    double f1, f2;
    int c1, c2;
    double t0 = util_now();
    double l1 = train(3, &s1, &f1, &c1);
    double l2 = train(3, &s2, &f2, &c2);
    printf("loss %.4f -> %.5f after %d steps; eval accuracy %d/%d; %.2f s per run\n", f1, l1, STEPS, c1, N,
           (util_now() - t0) / 2);
    CHECK_MSG(f1 > 0.5, "first loss %g", f1);
    CHECK_MSG(l1 < 0.05, "final training loss %g (want < 0.05)", l1);
    CHECK_MSG(c1 == N, "eval accuracy %d/%d", c1, N);
    CHECK_MSG(s1 == s2 && l1 == l2, "two runs with the same seed differ: %016llx vs %016llx", (unsigned long long)s1,
              (unsigned long long)s2);
    return test_done("test_nn_learn");
}
