/* bench_conv_dnnl.c - issue 22, phase 1: the DCNN's five convolutions (Table 1 shapes, channels-last)
 * on one thread, the current path (OpenBLAS SGEMM: inference k accumulating GEMMs on a padded input,
 * training im2col + GEMM forward, two GEMMs + col2im backward; conv.c) against oneDNN's fp32 JIT
 * convolutions (oneDNN 2.x C API; src/dst nwc as the net keeps them, weights in the primitive's own
 * blocked layout, reordered from Keras's (k, cin, cout) each step when training, the weight gradient
 * reordered back and added). Rounds interleave the two sides (the machine is shared); best of rounds.
 * Also checks that oneDNN's forward gives the same bits for a segment whether it is computed in a
 * batch of 1, 3, 16 or 64, and that forward and backward repeat bitwise.
 * usage: bench_conv_dnnl [seconds per measurement]   (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1) */
#include "nn/nn_blas.h"
#include "nn/nn_internal.h"
#include "util/util.h"

#include <dnnl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(call)                                                                                          \
    do {                                                                                                  \
        dnnl_status_t s_ = (call);                                                                        \
        if (s_ != dnnl_success) {                                                                         \
            fprintf(stderr, "%s:%d: %s failed: status %d\n", __FILE__, __LINE__, #call, (int)s_);        \
            exit(1);                                                                                      \
        }                                                                                                 \
    } while (0)

void omp_set_num_threads(int);

typedef struct {
    int cin, cout, k, T;
} shape;
static const shape L[NN_N_CONV] = {{128, 128, 4, 129}, {128, 128, 4, 32}, {128, 128, 4, 8}, {128, 128, 2, 2}, {128, 256, 1, 1}};

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *p)
{
    dnnl_memory_t m;
    CK(dnnl_memory_create(&m, md, eng, p ? p : DNNL_MEMORY_ALLOCATE));
    return m;
}

static void *mem_ptr(dnnl_memory_t m)
{
    void *p;
    CK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

static dnnl_primitive_t reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    CK(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL));
    CK(dnnl_primitive_create(&p, pd));
    dnnl_primitive_desc_destroy(pd);
    return p;
}

static void run(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args)
{
    CK(dnnl_primitive_execute(p, strm, n, args));
}

static const char *impl(const_dnnl_primitive_desc_t pd)
{
    const char *s = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s;
}

/* one layer at batch B: oneDNN primitives and their buffers */
typedef struct {
    shape s;
    int B;
    dnnl_memory_desc_t src, dst, w_user, w_any_f, w_any_bd, w_any_bw;
    dnnl_primitive_desc_t fwd_inf_pd, fwd_pd, bwd_d_pd, bwd_w_pd;
    dnnl_primitive_t fwd_inf, fwd, bwd_d, bwd_w, r_w_f, r_w_bd, r_dw;
    dnnl_memory_t m_src, m_dst, m_wu, m_wf, m_wbd, m_dwk, m_dwu, m_ddst, m_dsrc;
} dl;

static void dl_make(dl *d, shape s, int B, float *x, float *w, float *z, float *dz, float *dx, int training)
{
    memset(d, 0, sizeof *d);
    d->s = s;
    d->B = B;
    dnnl_dims_t src_dims = {B, s.cin, s.T}, dst_dims = {B, s.cout, s.T}, w_dims = {s.cout, s.cin, s.k};
    dnnl_dims_t strides = {1}, pl = {(s.k - 1) / 2}, pr = {s.k / 2};
    CK(dnnl_memory_desc_init_by_tag(&d->src, 3, src_dims, dnnl_f32, dnnl_nwc));
    CK(dnnl_memory_desc_init_by_tag(&d->dst, 3, dst_dims, dnnl_f32, dnnl_nwc));
    CK(dnnl_memory_desc_init_by_tag(&d->w_user, 3, w_dims, dnnl_f32, dnnl_wio));
    dnnl_memory_desc_t w_any;
    CK(dnnl_memory_desc_init_by_tag(&w_any, 3, w_dims, dnnl_f32, dnnl_format_tag_any));
    dnnl_convolution_desc_t cd;
    CK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &d->src, &w_any, NULL,
                                          &d->dst, strides, pl, pr));
    CK(dnnl_primitive_desc_create(&d->fwd_inf_pd, &cd, NULL, eng, NULL));
    CK(dnnl_primitive_create(&d->fwd_inf, d->fwd_inf_pd));
    d->w_any_f = *dnnl_primitive_desc_query_md(d->fwd_inf_pd, dnnl_query_weights_md, 0);
    d->m_src = mem(&d->src, x);
    d->m_dst = mem(&d->dst, z);
    d->m_wu = mem(&d->w_user, w);
    d->m_wf = mem(&d->w_any_f, NULL);
    d->r_w_f = reorder(&d->w_user, &d->w_any_f);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, d->m_wu}, {DNNL_ARG_TO, d->m_wf}}; /* inference: once */
    run(d->r_w_f, 2, r);
    CK(dnnl_stream_wait(strm));
    if (!training) return;
    CK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &d->src, &w_any, NULL,
                                          &d->dst, strides, pl, pr));
    CK(dnnl_primitive_desc_create(&d->fwd_pd, &cd, NULL, eng, NULL));
    CK(dnnl_primitive_create(&d->fwd, d->fwd_pd));
    if (dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(d->fwd_pd, dnnl_query_weights_md, 0), &d->w_any_f) != 1) {
        fprintf(stderr, "training forward wants another weights layout than inference\n");
        exit(1);
    }
    CK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &d->src, &w_any, &d->dst, strides, pl, pr));
    CK(dnnl_primitive_desc_create(&d->bwd_d_pd, &cd, NULL, eng, d->fwd_pd));
    CK(dnnl_primitive_create(&d->bwd_d, d->bwd_d_pd));
    d->w_any_bd = *dnnl_primitive_desc_query_md(d->bwd_d_pd, dnnl_query_weights_md, 0);
    d->m_wbd = mem(&d->w_any_bd, NULL);
    d->r_w_bd = reorder(&d->w_user, &d->w_any_bd);
    CK(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &d->src, &w_any, NULL, &d->dst, strides,
                                                   pl, pr));
    CK(dnnl_primitive_desc_create(&d->bwd_w_pd, &cd, NULL, eng, d->fwd_pd));
    CK(dnnl_primitive_create(&d->bwd_w, d->bwd_w_pd));
    d->w_any_bw = *dnnl_primitive_desc_query_md(d->bwd_w_pd, dnnl_query_diff_weights_md, 0);
    d->m_dwk = mem(&d->w_any_bw, NULL);
    d->m_dwu = mem(&d->w_user, NULL);
    d->r_dw = reorder(&d->w_any_bw, &d->w_user);
    d->m_ddst = mem(&d->dst, dz);
    d->m_dsrc = mem(&d->src, dx);
}

static void dl_infer(dl *d)
{
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, d->m_src}, {DNNL_ARG_WEIGHTS, d->m_wf}, {DNNL_ARG_DST, d->m_dst}};
    run(d->fwd_inf, 3, a);
}

/* one training step of the layer: reorder weights, forward, backward data (if dx), backward weights,
 * dw += the reordered gradient */
static void dl_train(dl *d, int with_dx, float *dw)
{
    dnnl_exec_arg_t r1[2] = {{DNNL_ARG_FROM, d->m_wu}, {DNNL_ARG_TO, d->m_wf}};
    run(d->r_w_f, 2, r1);
    dnnl_exec_arg_t f[3] = {{DNNL_ARG_SRC, d->m_src}, {DNNL_ARG_WEIGHTS, d->m_wf}, {DNNL_ARG_DST, d->m_dst}};
    run(d->fwd, 3, f);
    if (with_dx) {
        dnnl_memory_t wbd = d->m_wf;
        if (dnnl_memory_desc_equal(&d->w_any_bd, &d->w_any_f) != 1) {
            dnnl_exec_arg_t r2[2] = {{DNNL_ARG_FROM, d->m_wu}, {DNNL_ARG_TO, d->m_wbd}};
            run(d->r_w_bd, 2, r2);
            wbd = d->m_wbd;
        }
        dnnl_exec_arg_t b[3] = {{DNNL_ARG_DIFF_DST, d->m_ddst}, {DNNL_ARG_WEIGHTS, wbd}, {DNNL_ARG_DIFF_SRC, d->m_dsrc}};
        run(d->bwd_d, 3, b);
    }
    dnnl_exec_arg_t bw[3] = {{DNNL_ARG_SRC, d->m_src}, {DNNL_ARG_DIFF_DST, d->m_ddst}, {DNNL_ARG_DIFF_WEIGHTS, d->m_dwk}};
    run(d->bwd_w, 3, bw);
    dnnl_exec_arg_t r3[2] = {{DNNL_ARG_FROM, d->m_dwk}, {DNNL_ARG_TO, d->m_dwu}};
    run(d->r_dw, 2, r3);
    CK(dnnl_stream_wait(strm));
    const float *g = mem_ptr(d->m_dwu);
    const size_t nw = (size_t)d->s.k * d->s.cin * d->s.cout;
    for (size_t i = 0; i < nw; i++) dw[i] += g[i];
}

/* ---- the measured functions ---- */
typedef struct {
    int l, B;
    float *x, *xp, *w, *z, *col, *dz, *dw, *dcol, *dx;
    dl *d;
} lay;

static void ours_infer(lay *a)
{
    const shape s = L[a->l];
    nn_conv_forward_padded(a->xp, a->B, s.T, s.cin, s.cout, s.k, 0, a->w, a->z);
}
static void ours_train(lay *a)
{
    const shape s = L[a->l];
    nn_conv_forward(a->x, a->B, s.T, s.cin, s.cout, s.k, a->w, NULL, a->col, a->z);
    nn_conv_backward(s.k > 1 ? a->col : a->x, a->dz, a->B, s.T, s.cin, s.cout, s.k, a->w, a->dw, NULL, a->dcol,
                     a->l > 0 ? a->dx : NULL);
}
static void dnnl_infer(lay *a) { dl_infer(a->d); CK(dnnl_stream_wait(strm)); }
static void dnnl_train(lay *a) { dl_train(a->d, a->l > 0, a->dw); }

static double seconds = 1.0;

static double rate(void (*fn)(lay *), lay *a)
{
    fn(a);
    double t0 = util_now();
    long n = 0;
    while (util_now() - t0 < seconds / 4) {
        fn(a);
        n++;
    }
    return (double)n * a->B / (util_now() - t0);
}

static float *frand(size_t n, unsigned seed) { return util_uniform_floats(n, seed, -0.5f, 0.5f); }

static lay lay_make(int l, int B, int training)
{
    const shape s = L[l];
    lay a = {l, B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const size_t xs = (size_t)B * s.T * s.cin, zs = (size_t)B * (s.T + s.k - 1) * s.cout, ws = (size_t)s.k * s.cin * s.cout;
    a.x = frand(xs, 1 + l);
    a.xp = calloc((size_t)B * (s.T + s.k - 1) * s.cin, sizeof(float));
    const int pl = (s.k - 1) / 2;
    for (int b = 0; b < B; b++)
        memcpy(a.xp + ((size_t)b * (s.T + s.k - 1) + pl) * s.cin, a.x + (size_t)b * s.T * s.cin,
               (size_t)s.T * s.cin * sizeof(float));
    a.w = frand(ws, 7 + l); /* the same weights in every lay of layer l */
    a.z = malloc(zs * sizeof(float));
    a.col = malloc((size_t)B * s.T * s.k * s.cin * sizeof(float));
    a.dcol = malloc((size_t)B * s.T * s.k * s.cin * sizeof(float));
    a.dz = frand((size_t)B * s.T * s.cout, 11 + l);
    a.dw = calloc(ws, sizeof(float));
    a.dx = malloc(xs * sizeof(float));
    a.d = malloc(sizeof(dl));
    dl_make(a.d, s, B, a.x, a.w, a.z, a.dz, a.dx, training);
    return a;
}

/* oneDNN forward of segment-batch sizes 1, 3, 16, 64 over the same 64 segments: same bits? And
 * repeated forward/backward: same bits? Returns the number of differing cases. */
static int check_bits(int l)
{
    const shape s = L[l];
    lay ref = lay_make(l, 64, 1);
    dl_infer(ref.d);
    CK(dnnl_stream_wait(strm));
    const size_t seg_out = (size_t)s.T * s.cout, seg_in = (size_t)s.T * s.cin;
    float *zref = malloc(64 * seg_out * sizeof(float));
    memcpy(zref, ref.z, 64 * seg_out * sizeof(float));
    int bad = 0;
    static const int sizes[3] = {1, 3, 16};
    for (int i = 0; i < 3; i++) {
        const int B = sizes[i];
        lay a = lay_make(l, B, 0);
        int diff = 0;
        for (int s0 = 0; s0 + B <= 64; s0 += B) {
            memcpy(a.x, ref.x + s0 * seg_in, B * seg_in * sizeof(float));
            dl_infer(a.d);
            CK(dnnl_stream_wait(strm));
            if (memcmp(a.z, zref + s0 * seg_out, B * seg_out * sizeof(float))) diff++;
        }
        printf("  layer %d: oneDNN forward, batch %2d vs batch 64 (%s): %s\n", l + 1, B, impl(a.d->fwd_inf_pd),
               diff ? "BITS DIFFER" : "same bits");
        bad += diff != 0;
    }
    /* training: two identical steps give the same z, dx, dw */
    const size_t nw = (size_t)s.k * s.cin * s.cout;
    float *dx1 = malloc(64 * seg_in * sizeof(float)), *dw1 = malloc(nw * sizeof(float));
    memset(ref.dw, 0, nw * sizeof(float));
    dl_train(ref.d, 1, ref.dw);
    memcpy(dx1, ref.dx, 64 * seg_in * sizeof(float));
    memcpy(dw1, ref.dw, nw * sizeof(float));
    memset(ref.dw, 0, nw * sizeof(float));
    dl_train(ref.d, 1, ref.dw);
    int rep = memcmp(dx1, ref.dx, 64 * seg_in * sizeof(float)) || memcmp(dw1, ref.dw, nw * sizeof(float));
    printf("  layer %d: oneDNN training step repeated: %s (fwd %s, bwd-data %s, bwd-weights %s)\n", l + 1,
           rep ? "BITS DIFFER" : "same bits", impl(ref.d->fwd_pd), impl(ref.d->bwd_d_pd), impl(ref.d->bwd_w_pd));
    /* the training forward at batch 16 vs 64 */
    lay a = lay_make(l, 16, 1);
    int diff = 0;
    for (int s0 = 0; s0 < 64; s0 += 16) {
        memcpy(a.x, ref.x + s0 * seg_in, 16 * seg_in * sizeof(float));
        memcpy(a.dz, ref.dz + s0 * seg_out, 16 * seg_out * sizeof(float));
        memset(a.dw, 0, nw * sizeof(float));
        dl_train(a.d, 1, a.dw);
        if (memcmp(a.dx, ref.dx + s0 * seg_in, 16 * seg_in * sizeof(float))) diff++;
    }
    printf("  layer %d: oneDNN backward-data, batch 16 vs 64: %s\n", l + 1, diff ? "BITS DIFFER" : "same bits");
    /* vs the OpenBLAS path: largest difference of the forward */
    nn_conv_forward(ref.x, 64, s.T, s.cin, s.cout, s.k, ref.w, NULL, ref.col, ref.z);
    double worst = 0;
    for (size_t i = 0; i < 64 * seg_out; i++) {
        double e = fabs((double)ref.z[i] - zref[i]);
        if (e > worst) worst = e;
    }
    printf("  layer %d: oneDNN vs OpenBLAS forward, largest difference %.2e\n", l + 1, worst);
    return bad + rep + (diff != 0);
}

int main(int argc, char **argv)
{
    nn_blas_setup(argc, argv);
    omp_set_num_threads(1);
    if (argc > 1) seconds = atof(argv[1]);
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    printf("OpenBLAS kernels: %s; oneDNN %d.%d.%d, effective ISA 0x%x\n", nn_blas_corename(), v->major, v->minor,
           v->patch, (unsigned)dnnl_get_effective_cpu_isa());

    printf("bitwise checks:\n");
    int bad = 0;
    for (int l = 0; l < NN_N_CONV; l++) bad += check_bits(l);

    lay inf[NN_N_CONV], tr[NN_N_CONV];
    double r[NN_N_CONV][4] = {{0}};
    for (int l = 0; l < NN_N_CONV; l++) {
        inf[l] = lay_make(l, 64, 0);
        tr[l] = lay_make(l, 32, 1);
    }
    for (int round = 0; round < 4; round++)
        for (int l = 0; l < NN_N_CONV; l++) {
            double x;
            if ((x = rate(ours_infer, &inf[l])) > r[l][0]) r[l][0] = x;
            if ((x = rate(dnnl_infer, &inf[l])) > r[l][1]) r[l][1] = x;
            if ((x = rate(ours_train, &tr[l])) > r[l][2]) r[l][2] = x;
            if ((x = rate(dnnl_train, &tr[l])) > r[l][3]) r[l][3] = x;
        }
    double t[4] = {0};
    printf("layer  cin cout k   T | inference b64 seg/s: OpenBLAS  oneDNN  ratio | training b32 (fwd+bwd) seg/s: OpenBLAS  oneDNN  ratio | oneDNN impl\n");
    for (int l = 0; l < NN_N_CONV; l++) {
        const shape s = L[l];
        printf("%5d %4d %4d %d %3d | %10.0f %8.0f %5.2fx | %10.0f %8.0f %5.2fx | %s\n", l + 1, s.cin, s.cout, s.k, s.T,
               r[l][0], r[l][1], r[l][1] / r[l][0], r[l][2], r[l][3], r[l][3] / r[l][2], impl(inf[l].d->fwd_inf_pd));
        for (int i = 0; i < 4; i++) t[i] += 1.0 / r[l][i];
    }
    printf("all five convs: inference %.0f vs %.0f seg/s (%.2fx), training %.0f vs %.0f seg/s (%.2fx)\n", 1 / t[0],
           1 / t[1], t[0] / t[1], 1 / t[2], 1 / t[3], t[2] / t[3]);
    printf("bitwise checks: %s\n", bad ? "SOME DIFFER" : "all same");
    return 0;
}
