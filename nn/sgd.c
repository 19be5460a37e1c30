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

int nn_update(nn_model *m, const nn_sgd *opt, char *err, size_t errlen)
{
    float *tail = m->grads + m->tail_off;
    const size_t nt = m->n_grads - m->tail_off;
    const double groups = tail[nt - 2], segs = tail[nt - 1];
    if (!(segs > 0) || !(groups > 0))
        return util_fail(err, errlen, UTIL_EFAIL, "nn: update without accumulated gradients");
    const double lr = opt->lr_schedule ? opt->lr_schedule(m->step, opt->ctx) : opt->lr;
    const float inv = (float)(1.0 / segs), mu = (float)opt->momentum, flr = (float)lr;
    const float wd = (float)opt->weight_decay;
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
        sgd_range(m->params + start, m->grads + start, m->momentum + start, k0 - start, inv, 0.0f, mu, flr, opt->nesterov);
        sgd_range(m->params + k0, m->grads + k0, m->momentum + k0, k1 - k0, inv, wd, mu, flr, opt->nesterov);
        sgd_range(m->params + k1, m->grads + k1, m->momentum + k1, end - k1, inv, 0.0f, mu, flr, opt->nesterov);
        start = end;
    }
    const float keep = (float)NN_BN_MOMENTUM, take = 1.0f - keep, ig = (float)(1.0 / groups);
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
    return 0;
}
