/* conv_dnnl.c - the DCNN's k > 1 convolutions on oneDNN (Intel's Deep Neural Network Library, the
 * convolutions behind PyTorch's CPU backend), issue 22: fp32 JIT kernels that oneDNN picks from
 * CPUID (AVX2, AVX-512, AMX), so the speed does not depend on OpenBLAS knowing the CPU model.
 *
 * Same contract as conv.c's nn_conv_forward / nn_conv_backward, channels-last (src/dst "nwc"),
 * Keras kernel layout (k, cin, cout) = oneDNN "wio", Keras "same" padding ((k-1)/2 left, k/2 right).
 * Weights are reordered into the primitive's blocked layout on every call (they change every
 * training step; 256 KB, a few percent of a call); the weight gradient comes back in "wio" and is
 * added to dw. oneDNN runs on the calling thread only (omp_set_num_threads(1) before each call):
 * ranks are the parallelism, and a one-thread kernel sums in a fixed order. bench_conv_dnnl checks
 * that a segment's forward bits do not depend on the batch it is computed in, and that calls repeat
 * bitwise. Primitives are JIT-compiled per shape (batch size included) and kept in a small cache per
 * thread (least recently used out).
 * Built only with libdnnl-dev (ARTISTNET_HAVE_DNNL); otherwise nn_dnnl_available() is 0. */
#include "nn/nn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ARTISTNET_HAVE_DNNL
#include <pthread.h>
#include <dnnl.h>

void omp_set_num_threads(int n);

int nn_dnnl_available(void) { return 1; }

const char *nn_dnnl_describe(void)
{
    static char s[96];
    if (!s[0]) {
        const dnnl_version_t *v = dnnl_version();
        const char *isa = "?";
        switch (dnnl_get_effective_cpu_isa()) {
        case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
        case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
        case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
        case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
        case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
        case dnnl_cpu_isa_avx2: isa = "avx2"; break;
        case dnnl_cpu_isa_avx: isa = "avx"; break;
        case dnnl_cpu_isa_sse41: isa = "sse41"; break;
        default: break;
        }
        snprintf(s, sizeof s, "oneDNN %d.%d.%d %s", v->major, v->minor, v->patch, isa);
    }
    return s;
}

/* one cached shape: forward (inference or training) and, for training, backward data/weights */
typedef struct {
    int used, training, B, T, cin, cout, k;
    unsigned long tick;
    dnnl_primitive_t fwd, bwd_d, bwd_w, r_w, r_w_bd, r_dw;
    dnnl_memory_t src, dst, w_user, w_blk, w_bd, dw_blk, dw_user, ddst, dsrc;
    float *dw_plain;
} dnnl_entry;

/* A thread's cache lives on the heap, linked into one global list while the thread has it; the
 * thread-local slot only points at it. The list is a root any leak checker scans (LeakSanitizer
 * between a fuzzer's inputs skips thread-local storage, use_tls=0: kernels reachable only from
 * there read as leaked). */
#define DNNL_CACHE 24
typedef struct dnnl_cache {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_entry e[DNNL_CACHE];
    unsigned long tick;
    struct dnnl_cache *prev, *next;
} dnnl_cache;
static _Thread_local dnnl_cache *C;
static dnnl_cache *caches; /* every live thread's cache */
static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;

#define CK(call)                                                                                                 \
    do {                                                                                                         \
        dnnl_status_t s_ = (call);                                                                               \
        if (s_ != dnnl_success) {                                                                                \
            fprintf(stderr, "nn: oneDNN %s failed (status %d) at %s:%d\n", #call, (int)s_, __FILE__, __LINE__); \
            abort();                                                                                             \
        }                                                                                                        \
    } while (0)

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, int allocate)
{
    dnnl_memory_t m;
    CK(dnnl_memory_create(&m, md, C->eng, allocate ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE));
    return m;
}

static dnnl_primitive_t prim(const_dnnl_primitive_desc_t pd)
{
    dnnl_primitive_t p;
    CK(dnnl_primitive_create(&p, pd));
    return p;
}

static dnnl_primitive_t reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t pd;
    CK(dnnl_reorder_primitive_desc_create(&pd, from, C->eng, to, C->eng, NULL));
    dnnl_primitive_t p = prim(pd);
    dnnl_primitive_desc_destroy(pd);
    return p;
}

static void entry_free(dnnl_entry *e)
{
    dnnl_primitive_t ps[6] = {e->fwd, e->bwd_d, e->bwd_w, e->r_w, e->r_w_bd, e->r_dw};
    dnnl_memory_t ms[9] = {e->src, e->dst, e->w_user, e->w_blk, e->w_bd, e->dw_blk, e->dw_user, e->ddst, e->dsrc};
    for (int i = 0; i < 6; i++)
        if (ps[i]) dnnl_primitive_destroy(ps[i]);
    for (int i = 0; i < 9; i++)
        if (ms[i]) dnnl_memory_destroy(ms[i]);
    free(e->dw_plain);
    memset(e, 0, sizeof *e);
}

static void entry_make(dnnl_entry *e, int training, int B, int T, int cin, int cout, int k)
{
    e->used = 1;
    e->training = training;
    e->B = B;
    e->T = T;
    e->cin = cin;
    e->cout = cout;
    e->k = k;
    dnnl_memory_desc_t src, dst, w_user, w_any;
    dnnl_dims_t src_dims = {B, cin, T}, dst_dims = {B, cout, T}, w_dims = {cout, cin, k};
    dnnl_dims_t strides = {1}, pl = {(k - 1) / 2}, pr = {k / 2};
    CK(dnnl_memory_desc_init_by_tag(&src, 3, src_dims, dnnl_f32, dnnl_nwc));
    CK(dnnl_memory_desc_init_by_tag(&dst, 3, dst_dims, dnnl_f32, dnnl_nwc));
    CK(dnnl_memory_desc_init_by_tag(&w_user, 3, w_dims, dnnl_f32, dnnl_wio));
    CK(dnnl_memory_desc_init_by_tag(&w_any, 3, w_dims, dnnl_f32, dnnl_format_tag_any));
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t fpd;
    CK(dnnl_convolution_forward_desc_init(&cd, training ? dnnl_forward_training : dnnl_forward_inference,
                                          dnnl_convolution_direct, &src, &w_any, NULL, &dst, strides, pl, pr));
    CK(dnnl_primitive_desc_create(&fpd, &cd, NULL, C->eng, NULL));
    e->fwd = prim(fpd);
    const dnnl_memory_desc_t *w_blk = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    e->src = mem(&src, 0);
    e->dst = mem(&dst, 0);
    e->w_user = mem(&w_user, 0);
    e->w_blk = mem(w_blk, 1);
    e->r_w = reorder(&w_user, w_blk);
    if (training) {
        dnnl_primitive_desc_t pd;
        CK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src, &w_any, &dst, strides, pl, pr));
        CK(dnnl_primitive_desc_create(&pd, &cd, NULL, C->eng, fpd));
        e->bwd_d = prim(pd);
        const dnnl_memory_desc_t *w_bd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        if (dnnl_memory_desc_equal(w_bd, w_blk) != 1) {
            e->w_bd = mem(w_bd, 1);
            e->r_w_bd = reorder(&w_user, w_bd);
        }
        dnnl_primitive_desc_destroy(pd);
        CK(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src, &w_any, NULL, &dst, strides,
                                                       pl, pr));
        CK(dnnl_primitive_desc_create(&pd, &cd, NULL, C->eng, fpd));
        e->bwd_w = prim(pd);
        const dnnl_memory_desc_t *dw_blk = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
        e->dw_blk = mem(dw_blk, 1);
        e->dw_plain = malloc((size_t)k * cin * cout * sizeof(float));
        if (!e->dw_plain) abort();
        CK(dnnl_memory_create(&e->dw_user, &w_user, C->eng, e->dw_plain));
        e->r_dw = reorder(dw_blk, &w_user);
        dnnl_primitive_desc_destroy(pd);
        e->ddst = mem(&dst, 0);
        e->dsrc = mem(&src, 0);
    }
    dnnl_primitive_desc_destroy(fpd);
}

/* The calling thread's cache, stream and engine freed and unlinked: at a thread's end (key
 * destructor) and, for the thread that calls exit(), by atexit (LeakSanitizer then finds nothing of
 * ours left). */
static void cache_release(void)
{
    dnnl_cache *c = C;
    if (!c) return;
    for (int i = 0; i < DNNL_CACHE; i++)
        if (c->e[i].used) entry_free(&c->e[i]);
    if (c->strm) dnnl_stream_destroy(c->strm);
    if (c->eng) dnnl_engine_destroy(c->eng);
    pthread_mutex_lock(&caches_lock);
    if (c->prev) c->prev->next = c->next;
    else caches = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&caches_lock);
    free(c);
    C = NULL;
}

static pthread_key_t cache_key;
static void cache_key_release(void *unused)
{
    (void)unused;
    cache_release();
}
static void cache_hooks(void)
{
    pthread_key_create(&cache_key, cache_key_release);
    atexit(cache_release);
}

static dnnl_entry *entry_get(int training, int B, int T, int cin, int cout, int k)
{
    if (!C) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, cache_hooks);
        dnnl_cache *c = calloc(1, sizeof *c);
        if (!c) abort();
        pthread_mutex_lock(&caches_lock);
        c->next = caches;
        if (caches) caches->prev = c;
        caches = c;
        pthread_mutex_unlock(&caches_lock);
        C = c;
        pthread_setspecific(cache_key, c); /* non-NULL: the destructor runs at the thread's end */
        CK(dnnl_engine_create(&C->eng, dnnl_cpu, 0));
        CK(dnnl_stream_create(&C->strm, C->eng, dnnl_stream_default_flags));
    }
    C->tick++;
    dnnl_entry *lru = &C->e[0];
    for (int i = 0; i < DNNL_CACHE; i++) {
        dnnl_entry *e = &C->e[i];
        if (e->used && e->training == training && e->B == B && e->T == T && e->cin == cin && e->cout == cout &&
            e->k == k) {
            e->tick = C->tick;
            return e;
        }
        if (!e->used || (lru->used && e->tick < lru->tick)) lru = e;
    }
    if (lru->used) entry_free(lru);
    entry_make(lru, training, B, T, cin, cout, k);
    lru->tick = C->tick;
    return lru;
}

static void set(dnnl_memory_t m, const void *p) { CK(dnnl_memory_set_data_handle(m, (void *)p)); }

static void exec(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args) { CK(dnnl_primitive_execute(p, C->strm, n, args)); }

void nn_dnnl_conv_forward(const float *x, int B, int T, int cin, int cout, int k, int training, const float *w,
                          float *z)
{
    omp_set_num_threads(1);
    dnnl_entry *e = entry_get(training, B, T, cin, cout, k);
    set(e->src, x);
    set(e->dst, z);
    set(e->w_user, w);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->w_user}, {DNNL_ARG_TO, e->w_blk}};
    exec(e->r_w, 2, r);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->w_blk}, {DNNL_ARG_DST, e->dst}};
    exec(e->fwd, 3, a);
    CK(dnnl_stream_wait(C->strm));
}

void nn_dnnl_conv_backward(const float *x, const float *dz, int B, int T, int cin, int cout, int k, const float *w,
                           float *dw, float *dx)
{
    omp_set_num_threads(1);
    dnnl_entry *e = entry_get(1, B, T, cin, cout, k);
    set(e->src, x);
    set(e->ddst, dz);
    if (dx) {
        set(e->w_user, w);
        dnnl_memory_t wb = e->w_blk;
        if (e->r_w_bd) {
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->w_user}, {DNNL_ARG_TO, e->w_bd}};
            exec(e->r_w_bd, 2, r);
            wb = e->w_bd;
        } else {
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->w_user}, {DNNL_ARG_TO, e->w_blk}};
            exec(e->r_w, 2, r);
        }
        set(e->dsrc, dx);
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, e->ddst}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, e->dsrc}};
        exec(e->bwd_d, 3, a);
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DIFF_DST, e->ddst}, {DNNL_ARG_DIFF_WEIGHTS, e->dw_blk}};
    exec(e->bwd_w, 3, a);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, e->dw_blk}, {DNNL_ARG_TO, e->dw_user}};
    exec(e->r_dw, 2, r);
    CK(dnnl_stream_wait(C->strm));
    const size_t n = (size_t)k * cin * cout;
    for (size_t i = 0; i < n; i++) dw[i] += e->dw_plain[i];
}

#else /* built without oneDNN */

int nn_dnnl_available(void) { return 0; }
const char *nn_dnnl_describe(void) { return "oneDNN not built in"; }
void nn_dnnl_conv_forward(const float *x, int B, int T, int cin, int cout, int k, int training, const float *w,
                          float *z)
{
    (void)x, (void)B, (void)T, (void)cin, (void)cout, (void)k, (void)training, (void)w, (void)z;
    abort();
}
void nn_dnnl_conv_backward(const float *x, const float *dz, int B, int T, int cin, int cout, int k, const float *w,
                           float *dw, float *dx)
{
    (void)x, (void)dz, (void)B, (void)T, (void)cin, (void)cout, (void)k, (void)w, (void)dw, (void)dx;
    abort();
}
#endif
