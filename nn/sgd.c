/* sgd.c - SGD with (Nesterov) momentum as PyTorch's torch.optim.SGD computes it (dampening 0):
 *   g = grad / n_segments (+ wd * w on conv kernels);  v = mu v + g;  w -= lr (g + mu v)  [nesterov]
 * For a constant lr this equals Keras 2's SGD(nesterov=True) (v_keras = -lr v). Batch-norm running
 * statistics are updated here, once per step, from the micro-batch statistics accumulated in the
 * gradient tail (nn.h). */
#include "nn/nn_internal.h"
#include "util/util.h"

#include <string.h>

NN_HOT static void sgd_range(float *restrict w, const float *restrict grad, float *restrict mom, size_t n, float inv,
                             float wd, float mu, float lr, int nesterov)
{
    if (nesterov)
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] * inv + wd * w[i];
            float v = mu * mom[i] + g;
            mom[i] = v;
            w[i] -= lr * (g + mu * v);
        }
    else
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] * inv + wd * w[i];
            float v = mu * mom[i] + g;
            mom[i] = v;
            w[i] -= lr * v;
        }
}

double nn_lr_time_decay(double lr0, double decay, long step) { return lr0 / (1.0 + decay * (double)step); }

/* the learning rate and 1 / segments of this step; UTIL_EFAIL when nothing was accumulated */
static int step_scalars(const nn_model *m, const nn_sgd *opt, float *lr, float *inv, char *err, size_t errlen)
{
    const float *tail = m->grads + m->tail_off;
    const size_t nt = m->n_grads - m->tail_off;
    const double groups = tail[nt - 2], segs = tail[nt - 1];
    if (!(segs > 0) || !(groups > 0))
        return util_fail(err, errlen, UTIL_EFAIL, "nn: update without accumulated gradients");
    *lr = (float)(opt->lr_schedule ? opt->lr_schedule(m->step, opt->ctx) : opt->lr);
    *inv = (float)(1.0 / segs);
    return 0;
}

/* sgd_range on [a, b) clipped to [lo, hi) */
static void sgd_clipped(nn_model *m, size_t a, size_t b, size_t lo, size_t hi, float inv, float wd, float mu, float lr,
                        int nesterov)
{
    if (a < lo) a = lo;
    if (b > hi) b = hi;
    if (a < b) sgd_range(m->params + a, m->grads + a, m->momentum + a, b - a, inv, wd, mu, lr, nesterov);
}

int nn_update_params(nn_model *m, const nn_sgd *opt, size_t lo, size_t hi, char *err, size_t errlen)
{
    float lr = 0, inv = 0;
    int rc = step_scalars(m, opt, &lr, &inv, err, errlen);
    if (rc) return rc;
    const float mu = (float)opt->momentum, wd = (float)opt->weight_decay;
    if (hi > m->n_params) hi = m->n_params;
    size_t start = 0;
    for (int l = 0; l <= NN_N_CONV; l++) {
        /* segments of the flat buffer: [start, kernel_end) with decay on the kernel part */
        size_t k0, k1, end;
        if (l < NN_N_CONV) {
            k0 = m->conv[l].w_off;
            k1 = k0 + (size_t)m->conv[l].k * m->conv[l].cin * m->conv[l].cout;
            end = m->conv[l].beta_off + m->conv[l].cout;
        } else {
            k0 = k1 = start;
            end = m->n_params;
        }
        sgd_clipped(m, start, k0, lo, hi, inv, 0.0f, mu, lr, opt->nesterov);
        sgd_clipped(m, k0, k1, lo, hi, inv, wd, mu, lr, opt->nesterov);
        sgd_clipped(m, k1, end, lo, hi, inv, 0.0f, mu, lr, opt->nesterov);
        start = end;
    }
    return 0;
}

void nn_update_finish(nn_model *m)
{
    const float *tail = m->grads + m->tail_off;
    const size_t nt = m->n_grads - m->tail_off;
    const float keep = (float)NN_BN_MOMENTUM, take = 1.0f - keep, ig = (float)(1.0 / (double)tail[nt - 2]);
    for (int l = 0; l < NN_N_CONV; l++) {
        const nn_conv_desc *d = &m->conv[l];
        for (int c = 0; c < d->cout; c++) {
            float *rm = m->bn + d->rm_off + c, *rv = m->bn + d->rv_off + c;
            *rm = keep * *rm + take * (tail[d->acc_off + c] * ig);
            *rv = keep * *rv + take * (tail[d->acc_off + d->cout + c] * ig);
        }
    }
    m->step++;
    nn_grads_zero(m);
}

int nn_update(nn_model *m, const nn_sgd *opt, char *err, size_t errlen)
{
    int rc = nn_update_params(m, opt, 0, m->n_params, err, errlen);
    if (!rc) nn_update_finish(m);
    return rc;
}
