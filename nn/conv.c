/* conv.c - 1-D convolution with Keras/TensorFlow "same" padding as im2col + one OpenBLAS SGEMM over
 * the whole batch (darknet's convolutional_layer.c does the 2-D analogue) for training, and without
 * im2col for inference (nn_conv_forward_padded: k accumulating SGEMMs over a zero-padded batch).
 *
 * Channels-last activations (rows b*T + t, C columns): the im2col row of output frame t is the k
 * input rows t - pad .. t - pad + k - 1 laid end to end, a single contiguous copy away from the
 * segment edges. Kernel layout (k, cin, cout) = Keras Conv1D's, so row j*cin + c of the kernel
 * matches column j*cin + c of im2col. TensorFlow "same": total padding k - 1, (k-1)/2 on the left.
 */
#include "nn/nn_internal.h"

#include <cblas.h>
#include <string.h>

void nn_conv_im2col(const float *x, int B, int T, int cin, int k, float *col)
{
    const int pad = (k - 1) / 2;
    const size_t kc = (size_t)k * cin;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * T * cin;
        float *cb = col + (size_t)b * T * kc;
        for (int t = 0; t < T; t++) {
            float *row = cb + (size_t)t * kc;
            int t0 = t - pad;
            if (t0 >= 0 && t0 + k <= T) {
                memcpy(row, xb + (size_t)t0 * cin, kc * sizeof(float));
                continue;
            }
            for (int j = 0; j < k; j++) {
                int s = t0 + j;
                if (s >= 0 && s < T)
                    memcpy(row + (size_t)j * cin, xb + (size_t)s * cin, (size_t)cin * sizeof(float));
                else
                    memset(row + (size_t)j * cin, 0, (size_t)cin * sizeof(float));
            }
        }
    }
}

void nn_conv_col2im(const float *dcol, int B, int T, int cin, int k, float *dx)
{
    const int pad = (k - 1) / 2;
    const size_t kc = (size_t)k * cin;
    memset(dx, 0, (size_t)B * T * cin * sizeof(float));
    for (int b = 0; b < B; b++) {
        float *xb = dx + (size_t)b * T * cin;
        const float *cb = dcol + (size_t)b * T * kc;
        for (int t = 0; t < T; t++) {
            const float *row = cb + (size_t)t * kc;
            for (int j = 0; j < k; j++) {
                int s = t - pad + j;
                if (s < 0 || s >= T) continue;
                float *d = xb + (size_t)s * cin;
                const float *r = row + (size_t)j * cin;
                for (int c = 0; c < cin; c++) d[c] += r[c];
            }
        }
    }
}

void nn_conv_forward(const float *x, int B, int T, int cin, int cout, int k, const float *w,
                     const float *bias, float *col, float *z)
{
    const int rows = B * T, kc = k * cin;
    const float *a = x;
    if (k > 1) {
        nn_conv_im2col(x, B, T, cin, k, col);
        a = col;
    }
    float beta = 0.0f;
    if (bias) {
        for (int r = 0; r < rows; r++) memcpy(z + (size_t)r * cout, bias, (size_t)cout * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cout, kc, 1.0f, a, kc, w, cout, beta,
                z, cout);
}

void nn_conv_backward(const float *col, const float *dz, int B, int T, int cin, int cout, int k,
                      const float *w, float *dw, float *dbias, float *dcol, float *dx)
{
    const int rows = B * T, kc = k * cin;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kc, cout, rows, 1.0f, col, kc, dz, cout, 1.0f,
                dw, cout);
    if (dbias)
        for (int r = 0; r < rows; r++) {
            const float *d = dz + (size_t)r * cout;
            for (int c = 0; c < cout; c++) dbias[c] += d[c];
        }
    if (!dx) return;
    float *out = k > 1 ? dcol : dx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kc, cout, 1.0f, dz, cout, w, cout, 0.0f,
                out, kc);
    if (k > 1) nn_conv_col2im(dcol, B, T, cin, k, dx);
}

void nn_conv_forward_padded(const float *x, int B, int T, int cin, int cout, int k, int channels_first,
                            const float *w, float *z)
{
    const int Tp = T + k - 1, rows = B * Tp - (k - 1);
    for (int j = 0; j < k; j++) {
        const float *wj = w + (size_t)j * cin * cout;
        const float beta = j ? 1.0f : 0.0f;
        if (channels_first) /* x is cin x (B*Tp): the tap-j matrix is its transpose from column j */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, cout, cin, 1.0f, x + j, B * Tp, wj, cout,
                        beta, z, cout);
        else /* x is (B*Tp) x cin: the tap-j matrix starts at row j */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cout, cin, 1.0f, x + (size_t)j * cin, cin,
                        wj, cout, beta, z, cout);
    }
}
