/* reduce_svm_model.c - grid search, final fit, save/load and prediction of one LIBSVM C-SVC model
 * on a whole training set (see reduce_svm_model.h). Relies on LIBSVM (svm_train, svm_save_model,
 * svm_load_model, svm_predict), reduce_svm_cv_run for the grid search, serial HDF5 for the
 * standardiser and class names. */
#include "reduce/reduce_svm_model.h"
#include "reduce/reduce_svm_kernel.h"
#include "util/util.h"

#include <cblas.h>
#include <errno.h>
#include "reduce/reduce_h5.h"
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>

static void svm_silent(const char *s) { (void)s; }

int reduce_svm_model_search(const double *x, long n, int d, const int *y, int n_classes, const int *inner,
                            int n_inner, const reduce_svm_grid *grid, const reduce_svm_params *params,
                            int progress, MPI_Comm comm, double *inner_acc, int *best, char *err,
                            size_t errlen)
{
    /* every row in outer fold 0, so fold 1 (no rows of its own) trains on all of them: its grid is the
     * inner cross-validation of the training set, and the only one run (cv.search) */
    int *fold = calloc((size_t)n + 1, sizeof *fold), *ia = malloc(((size_t)n * 2 + 1) * sizeof *ia);
    int rc = UTIL_OK;
    if (!fold || !ia) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for the grid search (%ld rows x %d)", n, d);
        goto done;
    }
    for (long i = 0; i < n; i++) {
        ia[2 * i] = -1;
        ia[2 * i + 1] = inner[i];
    }
    reduce_svm_cv cv;
    memset(&cv, 0, sizeof cv);
    cv.n = n;
    cv.d = d;
    cv.x = x;
    cv.y = y;
    cv.n_classes = n_classes;
    cv.fold = fold;
    cv.k = 2;
    cv.inner = ia;
    cv.n_inner = n_inner;
    cv.grid = *grid;
    cv.params = *params;
    cv.progress = progress;
    cv.search = 1;
    cv.search_fold = 1;
    cv.queue_thread = 1;
    rc = reduce_svm_cv_run(&cv, comm, err, errlen);
    if (!rc) {
        int cells = grid->n_c * grid->n_g;
        memcpy(inner_acc, cv.inner_acc + cells, (size_t)cells * sizeof *inner_acc);
        *best = cv.best[1];
    }
    reduce_svm_cv_free(&cv);
done:
    free(fold);
    free(ia);
    return rc;
}

static void set_params(struct svm_parameter *par, const reduce_svm_params *p, double C, double gamma)
{
    memset(par, 0, sizeof *par);
    par->svm_type = C_SVC;
    par->kernel_type = p->kernel == REDUCE_SVM_RBF ? RBF : LINEAR;
    par->degree = 3;
    par->gamma = gamma;
    par->cache_size = p->cache_mb;
    par->eps = p->eps;
    par->C = C;
    par->nu = 0.5;
    par->p = 0.1;
    par->shrinking = p->shrinking;
}

/* LIBSVM trained on the whole kernel matrix, precomputed as reduce_svm_cv does for its fits (one
 * dgemm for the dot products instead of LIBSVM's sparse ones, which on a few thousand rows of 100-256
 * dimensions are most of a fit's time), when it fits max_kernel_mb; then made an ordinary model of
 * par's kernel whose support vectors are the sparse rows (prob->x), as if LIBSVM had computed the
 * kernel: svm_save_model and svm_predict take it as it is. The kernel values are the grid search's
 * (the same standardised rows and Gram matrix), so this is the fit the search scored. NULL when the
 * matrix does not fit or cannot be allocated. rows: n x (d + 1) sparse rows in the caller's order,
 * prob->x pointing into them in LIBSVM's order. */
static struct svm_model *train_precomputed(struct svm_node *rows, long n, int d, const struct svm_problem *prob,
                                           const struct svm_parameter *par, double max_kernel_mb)
{
    const size_t nn = (size_t)n;
    if ((double)nn * (double)(nn + 2) * sizeof(struct svm_node) / 1e6 > max_kernel_mb) return NULL;
    double *z = malloc(nn * (size_t)d * sizeof *z + 1), *gram = util_alloc_large(nn * nn * sizeof *gram);
    struct svm_node *kn = util_alloc_large(nn * (nn + 2) * sizeof *kn), **kx = malloc(nn * sizeof *kx + 1);
    struct svm_model *model = NULL;
    if (z && gram && kn && kx) {
        for (size_t i = 0; i < nn; i++)
            for (int j = 0; j < d; j++) z[i * d + j] = rows[i * (d + 1) + j].value;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0, z, d, z, d, 0.0, gram, n);
        free(z);
        z = NULL;
        reduce_svm_kernel_rows(gram, nn, NULL, 0, par->kernel_type == RBF, par->gamma, kn);
        for (size_t t = 0; t < nn; t++) kx[t] = kn + (size_t)(prob->x[t] - rows) / (d + 1) * (nn + 2);
        struct svm_problem pk = {.l = prob->l, .y = prob->y, .x = kx};
        struct svm_parameter pp = *par;
        pp.kernel_type = PRECOMPUTED;
        model = svm_train(&pk, &pp);
        for (int s = 0; s < model->l; s++) /* serial number i + 1 -> row i's sparse features */
            model->SV[s] = rows + (size_t)(model->SV[s][0].value - 1) * (d + 1);
        model->param.kernel_type = par->kernel_type;
    }
    free(z);
    free(gram);
    free(kn);
    free(kx);
    return model;
}

int reduce_svm_model_fit(const double *x, long n, int d, const int *y, int n_classes, char *const *classes,
                         const reduce_svm_params *params, double C, double gamma, reduce_svm_model *m,
                         char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    svm_set_print_string_function(svm_silent);
    m->d = d;
    m->n_classes = n_classes;
    m->kernel = params->kernel;
    m->C = C;
    m->gamma = params->kernel == REDUCE_SVM_RBF ? gamma : 0;
    m->n_train = n;
    m->lda = util_strdup("");
    m->feature_model = util_strdup("");
    m->classes = calloc((size_t)n_classes + 1, sizeof *m->classes);
    m->mean = malloc((size_t)d * sizeof *m->mean + 1);
    m->std = malloc((size_t)d * sizeof *m->std + 1);
    m->nodes = malloc((size_t)n * (d + 1) * sizeof *m->nodes + 1);
    int *sel = malloc((size_t)n * sizeof *sel + 1);
    long *cnt = calloc((size_t)n_classes + 1, sizeof *cnt), *start = calloc((size_t)n_classes + 1, sizeof *start);
    struct svm_node **xs = malloc((size_t)n * sizeof *xs + 1);
    double *ys = malloc((size_t)n * sizeof *ys + 1);
    int rc = UTIL_OK;
    if (!m->lda || !m->feature_model || !m->classes || !m->mean || !m->std || !m->nodes || !sel || !cnt || !start ||
        !xs || !ys) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory for %ld rows x %d", n, d);
        goto done;
    }
    for (int c = 0; c < n_classes && !rc; c++)
        if (!(m->classes[c] = util_strdup(classes[c]))) rc = util_fail(err, errlen, UTIL_EFAIL, "svm: out of memory");
    if (rc) goto done;
    for (long i = 0; i < n; i++) sel[i] = 1;
    reduce_svm_standardise_fit(x, n, d, sel, m->mean, m->std);
    for (long i = 0; i < n; i++) {
        struct svm_node *row = m->nodes + (size_t)i * (d + 1);
        for (int j = 0; j < d; j++) row[j] = (struct svm_node){j + 1, (x[(size_t)i * d + j] - m->mean[j]) / m->std[j]};
        row[d] = (struct svm_node){-1, 0};
        cnt[y[i]]++;
    }
    m->majority = 0;
    for (int c = 1; c < n_classes; c++)
        if (cnt[c] > cnt[m->majority]) m->majority = c;
    for (int c = 0; c < n_classes; c++) start[c + 1] = start[c] + cnt[c];
    for (long i = 0; i < n; i++) { /* rows ordered by (class, row): LIBSVM's labels come out as 0..L-1 */
        long t = start[y[i]]++;
        xs[t] = m->nodes + (size_t)i * (d + 1);
        ys[t] = y[i];
    }
    struct svm_problem prob = {.l = (int)n, .y = ys, .x = xs};
    struct svm_parameter par;
    set_params(&par, params, C, m->gamma);
    const char *bad = svm_check_parameter(&prob, &par);
    if (bad) rc = util_fail(err, errlen, UTIL_EFAIL, "svm: LIBSVM rejects the parameters (C %g, gamma %g): %s", C, gamma, bad);
    else if (n == 0) rc = util_fail(err, errlen, UTIL_EINPUT, "svm: no training rows");
    else if ((m->svm = train_precomputed(m->nodes, n, d, &prob, &par, params->max_kernel_mb)))
        m->precomputed = 1;
    else
        m->svm = svm_train(&prob, &par); /* the kernel matrix does not fit: LIBSVM computes the kernel itself */
    /* the model keeps prob.x's row pointers (into m->nodes) but not xs/ys themselves */
done:
    free(sel);
    free(cnt);
    free(start);
    free(xs);
    free(ys);
    if (rc) reduce_svm_model_free(m);
    return rc;
}

int reduce_svm_model_set_info(reduce_svm_model *m, const char *lda, uint64_t lda_hash, const char *feature_model)
{
    char *a = util_strdup(lda ? lda : ""), *b = util_strdup(feature_model ? feature_model : "");
    if (!a || !b) {
        free(a);
        free(b);
        return UTIL_EFAIL;
    }
    free(m->lda);
    free(m->feature_model);
    m->lda = a;
    m->feature_model = b;
    m->lda_hash = lda_hash;
    return UTIL_OK;
}

/* ---- files ---- */

static int write_d1(hid_t f, const char *name, hsize_t n, const double *v)
{
    return reduce_h5_write_doubles(f, name, 1, &n, v);
}

/* fixed-length UTF-8 string attribute (h5py reads bytes) */
static int attr_str(hid_t f, const char *name, const char *v)
{
    const char *p = v ? v : "";
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(p) + 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, p);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return e < 0 ? -1 : 0;
}

static int write_strings(hid_t f, const char *name, char *const *v, int n)
{
    size_t w = 1;
    for (int i = 0; i < n; i++)
        if (strlen(v[i]) + 1 > w) w = strlen(v[i]) + 1;
    char *buf = calloc((size_t)n * w + 1, 1);
    if (!buf) return -1;
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * w, v[i], strlen(v[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, w);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hsize_t dn = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &dn, NULL);
    hid_t ds = H5Dcreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = ds < 0 ? -1 : H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
    free(buf);
    return e < 0 ? -1 : 0;
}

int reduce_svm_model_save(const reduce_svm_model *m, const char *dir, const char *command_line, char *err,
                          size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/svm.model", dir);
    if (!m->svm || svm_save_model(path, m->svm))
        return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write the LIBSVM model", path);
    snprintf(path, sizeof path, "%s/svm_model.h5", dir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return util_fail(err, errlen, UTIL_EFAIL, "%s: cannot create", path);
    int bad = write_d1(f, "mean", (hsize_t)m->d, m->mean) | write_d1(f, "std", (hsize_t)m->d, m->std) |
              write_strings(f, "classes", m->classes, m->n_classes);
    long long nt = m->n_train;
    unsigned long long lh = m->lda_hash;
    bad |= attr_str(f, "kernel", m->kernel == REDUCE_SVM_RBF ? "rbf" : "linear");
    bad |= reduce_h5_attr_num(f, "C", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->C);
    bad |= reduce_h5_attr_num(f, "gamma", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->gamma);
    bad |= reduce_h5_attr_num(f, "majority", H5T_STD_I32LE, H5T_NATIVE_INT, &m->majority);
    bad |= reduce_h5_attr_num(f, "n_train", H5T_STD_I64LE, H5T_NATIVE_LLONG, &nt);
    bad |= reduce_h5_attr_num(f, "inner_accuracy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->inner_accuracy);
    bad |= reduce_h5_attr_num(f, "inner_folds", H5T_STD_I32LE, H5T_NATIVE_INT, &m->inner_folds);
    bad |= attr_str(f, "lda", m->lda);
    bad |= reduce_h5_attr_num(f, "lda_hash", H5T_STD_U64LE, H5T_NATIVE_ULLONG, &lh);
    bad |= attr_str(f, "feature_model", m->feature_model);
    bad |= attr_str(f, "svm_model", "svm.model");
    bad |= attr_str(f, "version", ARTISTNET_VERSION);
    bad |= attr_str(f, "command_line", command_line);
    if (H5Fclose(f) < 0) bad = 1;
    return bad ? util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", path) : UTIL_OK;
}

static int read_attr_num(hid_t f, const char *name, hid_t mtype, void *v)
{
    if (H5Aexists(f, name) <= 0) return -1;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Aread(a, mtype, v);
    if (a >= 0) H5Aclose(a);
    return e < 0 ? -1 : 0;
}

/* string attribute (fixed or variable length) -> malloc'd copy, NULL when absent */
static char *read_attr_str(hid_t f, const char *name)
{
    if (H5Aexists(f, name) <= 0) return NULL;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    char *out = NULL;
    if (H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            char *p = NULL;
            if (H5Aread(a, mt, &p) >= 0 && p) {
                out = util_strdup(p);
                H5free_memory(p);
            }
            H5Tclose(mt);
        } else {
            size_t w = H5Tget_size(t);
            out = calloc(w + 1, 1);
            if (out && H5Aread(a, t, out) < 0) {
                free(out);
                out = NULL;
            }
        }
    }
    H5Tclose(t);
    H5Aclose(a);
    return out;
}

static int read_d(hid_t f, const char *name, hsize_t *n, double **v)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    int rc = -1;
    if (H5Sget_simple_extent_ndims(sp) == 1) {
        H5Sget_simple_extent_dims(sp, n, NULL);
        *v = malloc((size_t)*n * sizeof **v + 1);
        if (*v && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v) >= 0) rc = 0;
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

static int read_strings(hid_t f, const char *name, char ***out, int *n)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds), t = H5Dget_type(ds);
    int rc = -1;
    hsize_t dn = 0;
    if (H5Sget_simple_extent_ndims(sp) == 1 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0) {
        H5Sget_simple_extent_dims(sp, &dn, NULL);
        size_t w = H5Tget_size(t);
        char *buf = calloc((size_t)dn * w + 1, 1);
        *out = calloc((size_t)dn + 1, sizeof **out);
        if (buf && *out && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
            rc = 0;
            for (hsize_t i = 0; i < dn && !rc; i++) {
                (*out)[i] = calloc(w + 1, 1);
                if (!(*out)[i]) rc = -1;
                else memcpy((*out)[i], buf + i * w, w);
            }
            *n = (int)dn;
        }
        free(buf);
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(ds);
    return rc;
}

int reduce_svm_model_load(reduce_svm_model *m, const char *dir, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    char path[4200];
    snprintf(path, sizeof path, "%s/svm_model.h5", dir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open (run `artistnet mirex train` on this scratch folder first)", path);
    hsize_t dm = 0, ds = 0;
    int rc = UTIL_OK;
    char *kernel = NULL;
    long long nt = 0;
    unsigned long long lh = 0;
    if (read_d(f, "mean", &dm, &m->mean) || read_d(f, "std", &ds, &m->std) || dm != ds || dm < 1 ||
        read_strings(f, "classes", &m->classes, &m->n_classes) || m->n_classes < 1 || !(kernel = read_attr_str(f, "kernel")) ||
        read_attr_num(f, "C", H5T_NATIVE_DOUBLE, &m->C) || read_attr_num(f, "gamma", H5T_NATIVE_DOUBLE, &m->gamma) ||
        read_attr_num(f, "majority", H5T_NATIVE_INT, &m->majority) || m->majority < 0 || m->majority >= m->n_classes)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: needs /mean and /std (d), /classes (strings), attributes kernel, C, gamma, majority", path);
    if (!rc) {
        m->d = (int)dm;
        m->kernel = !strcmp(kernel, "rbf") ? REDUCE_SVM_RBF : REDUCE_SVM_LINEAR;
        read_attr_num(f, "n_train", H5T_NATIVE_LLONG, &nt);
        read_attr_num(f, "inner_accuracy", H5T_NATIVE_DOUBLE, &m->inner_accuracy);
        read_attr_num(f, "inner_folds", H5T_NATIVE_INT, &m->inner_folds);
        read_attr_num(f, "lda_hash", H5T_NATIVE_ULLONG, &lh);
        m->n_train = nt;
        m->lda_hash = lh;
        m->lda = read_attr_str(f, "lda");
        m->feature_model = read_attr_str(f, "feature_model");
        if (!m->lda) m->lda = util_strdup("");
        if (!m->feature_model) m->feature_model = util_strdup("");
        for (int j = 0; j < m->d && !rc; j++)
            if (!isfinite(m->mean[j]) || !isfinite(m->std[j]) || m->std[j] <= 0)
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /std must be positive and /mean finite (column %d)", path, j);
    }
    free(kernel);
    H5Fclose(f);
    if (!rc) {
        snprintf(path, sizeof path, "%s/svm.model", dir);
        m->svm = svm_load_model(path);
        if (!m->svm) rc = util_fail(err, errlen, UTIL_EINPUT, "%s: not a LIBSVM model file", path);
        else if (svm_get_nr_class(m->svm) > m->n_classes)
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s: %d classes, svm_model.h5 names %d", path, svm_get_nr_class(m->svm),
                           m->n_classes);
    }
    if (!rc && m->svm) {
        int labels[4096], nl = svm_get_nr_class(m->svm);
        if (nl <= 4096) {
            svm_get_labels(m->svm, labels);
            for (int i = 0; i < nl && !rc; i++)
                if (labels[i] < 0 || labels[i] >= m->n_classes)
                    rc = util_fail(err, errlen, UTIL_EINPUT, "%s: label %d is not a class id 0..%d", path, labels[i], m->n_classes - 1);
        }
    }
    if (rc) reduce_svm_model_free(m);
    return rc;
}

void reduce_svm_model_predict(const reduce_svm_model *m, const double *x, long n, int *pred)
{
    int d = m->d;
    struct svm_node *row = malloc(((size_t)d + 1) * sizeof *row);
    if (!row) {
        for (long i = 0; i < n; i++) pred[i] = m->majority;
        return;
    }
    for (long i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) row[j] = (struct svm_node){j + 1, (x[(size_t)i * d + j] - m->mean[j]) / m->std[j]};
        row[d] = (struct svm_node){-1, 0};
        pred[i] = (int)svm_predict(m->svm, row);
    }
    free(row);
}

void reduce_svm_model_free(reduce_svm_model *m)
{
    if (m->svm) svm_free_and_destroy_model(&m->svm);
    for (int c = 0; m->classes && c < m->n_classes; c++) free(m->classes[c]);
    free(m->classes);
    free(m->mean);
    free(m->std);
    free(m->nodes);
    free(m->lda);
    free(m->feature_model);
    memset(m, 0, sizeof *m);
}
