/* train_data.c - data side of `artistnet train`: mels.h5 metadata through the parallel store
 * (mpi/store.h), artist labels and per-artist splits (shard/shard.h), a prefetching segment reader
 * on its own POSIX thread with serial HDF5 and a bounded in-memory cache, and serial-HDF5 helpers
 * for the checkpoint. See train_data.h. */
#include "train/train_data.h"
#include "extract/extract.h"
#include "mpi/mpi_util.h"
#include "mpi/store.h"
#include "nn/nn.h"
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ metadata, labels, splits */

static int split_value(const char *v)
{
    if (!strcmp(v, "train")) return 0;
    if (!strcmp(v, "valid") || !strcmp(v, "validation") || !strcmp(v, "val")) return 1;
    if (!strcmp(v, "test")) return 2;
    return -2; /* empty handled by the caller */
}

static int load_local(mpi_store *s, const char *path, const char *label_col, const double frac[3], uint64_t seed,
                      train_data *d, char *err, size_t errlen)
{
    int rank = 0;
    size_t dims[MPI_STORE_MAX_RANK];
    int rc = mpi_store_dataset_dims(s, "mel", &rank, dims, err, errlen);
    if (rc) return rc;
    if (rank != 4 || dims[2] != NN_IN_CHANNELS || dims[3] != NN_IN_FRAMES || dims[1] < 1)
        return util_fail(err, errlen, UTIL_EINPUT, "%s: /mel must be (N, K, %d, %d) float32", path, NN_IN_CHANNELS,
                         NN_IN_FRAMES);
    d->n_rows = dims[0];
    d->K = dims[1];
    const size_t n = d->n_rows;
    int *nseg = malloc((n + 1) * sizeof *nseg);
    signed char *status = malloc(n + 1);
    d->label = malloc((n + 1) * sizeof *d->label);
    d->split = malloc((n + 1) * sizeof *d->split);
    if (!nseg || !status || !d->label || !d->split) {
        free(nseg);
        free(status);
        return util_fail(err, errlen, UTIL_EFAIL, "train: out of memory (%zu rows)", n);
    }
    char **ids = NULL, **art = NULL, **spl = NULL;
    size_t n_ids = 0, n_art = 0, n_spl = 0;
    shard_labels lab = {0};
    int have_split = mpi_store_exists(s, "split");
    rc = mpi_store_read_all(s, "n_segments", MPI_STORE_I32, nseg, err, errlen);
    if (!rc) rc = mpi_store_read_all(s, "status", MPI_STORE_I8, status, err, errlen);
    if (!rc) rc = mpi_store_strings_read(s, "ids", &ids, &n_ids, err, errlen);
    if (!rc && !mpi_store_exists(s, label_col))
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: no label column /%s (see --label-column)", path, label_col);
    if (!rc) rc = mpi_store_strings_read(s, label_col, &art, &n_art, err, errlen);
    if (!rc && have_split) rc = mpi_store_strings_read(s, "split", &spl, &n_spl, err, errlen);
    if (!rc && (n_ids != n || n_art != n || (have_split && n_spl != n)))
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /ids, /%s%s do not have the %zu rows of /mel", path, label_col,
                       have_split ? ", /split" : "", n);
    const char **vals = NULL;
    if (!rc) {
        vals = malloc((n + 1) * sizeof *vals);
        if (!vals) rc = util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    }
    uint64_t h = UTIL_FNV_INIT;
    if (!rc) {
        h = util_fnv1a(h, dims, 4 * sizeof dims[0]);
        for (size_t i = 0; i < n; i++) {
            if (status[i] != 0) d->n_failed++;
            vals[i] = status[i] == 0 ? art[i] : "";
            h = util_fnv1a(h, ids[i], strlen(ids[i]) + 1);
            h = util_fnv1a(h, art[i], strlen(art[i]) + 1);
            if (have_split) h = util_fnv1a(h, spl[i], strlen(spl[i]) + 1);
            h = util_fnv1a(h, &status[i], 1);
            h = util_fnv1a(h, &nseg[i], sizeof nseg[i]);
            if (status[i] == 0 && (nseg[i] < 0 || (size_t)nseg[i] > d->K))
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /n_segments row %zu (id '%s') is %d, outside [0, %zu]",
                               path, i, ids[i], nseg[i], d->K);
        }
        d->meta_hash = h;
    }
    if (!rc) rc = shard_labels_make(vals, n, &lab, err, errlen);
    if (!rc && lab.n < 2)
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s: /%s has %d distinct non-empty values among ok rows; need >= 2",
                       path, label_col, lab.n);
    if (!rc) {
        for (size_t i = 0; i < n; i++) d->label[i] = lab.index[i];
        if (have_split) {
            d->split_given = 1;
            for (size_t i = 0; i < n && !rc; i++) {
                d->split[i] = -1;
                if (d->label[i] < 0) continue;
                if (!spl[i][0]) continue;
                int v = split_value(spl[i]);
                if (v < 0)
                    rc = util_fail(err, errlen, UTIL_EINPUT,
                                   "%s: /split row %zu (id '%s') is '%s', not train, valid, validation or test", path, i,
                                   ids[i], spl[i]);
                d->split[i] = v;
            }
        } else {
            rc = shard_split_by_artist(d->label, n, frac, seed, d->split, err, errlen);
            for (size_t i = 0; i < n && !rc; i++)
                if (d->label[i] < 0) d->split[i] = -1;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            if (status[i] == 0 && (d->label[i] < 0 || d->split[i] < 0)) d->n_unlabelled++;
            if (d->label[i] < 0 || d->split[i] < 0 || nseg[i] <= 0) {
                d->label[i] = -1;
                d->split[i] = -1;
                continue;
            }
            d->n_seg[d->split[i]] += (size_t)nseg[i];
            d->n_song[d->split[i]]++;
        }
        for (int k = 0; k < 3 && !rc; k++) {
            d->seg[k] = malloc((d->n_seg[k] + 1) * sizeof(size_t));
            if (!d->seg[k]) rc = util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
        }
        size_t fill[3] = {0, 0, 0};
        for (size_t i = 0; i < n && !rc; i++) {
            int k = d->split[i];
            if (k < 0) continue;
            for (int j = 0; j < nseg[i]; j++) d->seg[k][fill[k]++] = i * d->K + (size_t)j;
        }
    }
    if (!rc) {
        d->n_classes = lab.n;
        d->artists = lab.names; /* taken over */
        lab.names = NULL;
        lab.n = 0;
    }
    shard_labels_free(&lab);
    free(vals);
    mpi_store_strings_free(ids, n_ids);
    mpi_store_strings_free(art, n_art);
    mpi_store_strings_free(spl, n_spl);
    free(nseg);
    free(status);
    return rc;
}

int train_data_load(MPI_Comm comm, const char *path, const char *label_col, const double frac[3], uint64_t seed,
                    train_data *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    mpi_store *s = NULL;
    int rc = mpi_store_open(comm, path, 0, &s, err, errlen);
    if (rc) return rc;
    rc = load_local(s, path, label_col, frac, seed, d, err, errlen);
    extract_resampler rs = EXTRACT_RESAMPLER_DEFAULT;
    char name[64];
    const int has = !rc && mpi_store_attr_exists(s, NULL, "resampler"); /* none: written with soxr-hq */
    if (has) rc = mpi_store_attr_read_string(s, NULL, "resampler", name, sizeof name, err, errlen);
    if (!rc) rc = extract_resampler_recorded(has ? name : NULL, path, &rs, err, errlen);
    snprintf(d->resampler, sizeof d->resampler, "%s", extract_resampler_name(rs));
    /* every rank read the same metadata, so rc is the same everywhere; closing is collective */
    char cerr[UTIL_ERRLEN];
    int crc = mpi_store_close(s, cerr, sizeof cerr);
    if (!rc && crc) {
        rc = crc;
        snprintf(err, errlen, "%s", cerr);
    }
    return rc;
}

void train_data_free(train_data *d)
{
    if (d->artists) {
        for (int i = 0; i < d->n_classes; i++) free(d->artists[i]);
        free(d->artists);
    }
    free(d->label);
    free(d->split);
    for (int k = 0; k < 3; k++) free(d->seg[k]);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------ prefetching reader */

enum { READER_IDLE, READER_REQUEST, READER_DONE, READER_QUIT };

struct train_reader {
    char *path;
    hid_t file, dset, fspace, mspace;
    int fd;           /* >= 0: /mel is one contiguous block of little-endian floats at byte `offset`: */
    off_t offset;     /* a segment is one pread, without HDF5's selection set-up per segment */
    size_t n_rows, K;
    float **cache; /* n_rows * K entries, NULL until read (when there is room) */
    size_t cache_max, cache_used;
    pthread_t thread;
    int thread_ok;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    const size_t *flat;
    size_t n;
    float *dst;
    size_t *order;
    size_t order_cap;
    int rc;
    char err[UTIL_ERRLEN];
    train_reader_stats st;
};

static const size_t *sort_base;
static int cmp_by_flat(const void *a, const void *b)
{
    size_t x = sort_base[*(const size_t *)a], y = sort_base[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

static int read_hdf5(train_reader *r, size_t flat, float *dst)
{
    hsize_t start[4] = {flat / r->K, flat % r->K, 0, 0}, count[4] = {1, 1, NN_IN_CHANNELS, NN_IN_FRAMES};
    if (H5Sselect_hyperslab(r->fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(r->dset, H5T_NATIVE_FLOAT, r->mspace, r->fspace, H5P_DEFAULT, dst) < 0)
        return util_fail(r->err, sizeof r->err, UTIL_EFAIL, "%s: cannot read /mel row %llu segment %llu", r->path,
                         (unsigned long long)start[0], (unsigned long long)start[1]);
    return 0;
}

static int read_raw(train_reader *r, size_t flat, float *dst)
{
    const size_t seg_bytes = (size_t)NN_SEG_SIZE * sizeof(float);
    const off_t at = r->offset + (off_t)(flat * seg_bytes);
    size_t got = 0;
    while (got < seg_bytes) {
        ssize_t n = pread(r->fd, (char *)dst + got, seg_bytes - got, at + (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return util_fail(r->err, sizeof r->err, UTIL_EFAIL, "%s: cannot read /mel row %zu segment %zu: %s", r->path,
                             flat / r->K, flat % r->K, n < 0 ? strerror(errno) : "file ends early");
        got += (size_t)n;
    }
    return 0;
}

/* The direct path, when /mel is contiguous, allocated, native little-endian float and its file
 * offset reads back what HDF5 reads (checked on the first and the last segment); else HDF5 reads. */
static void raw_open(train_reader *r)
{
    r->fd = -1;
    hid_t dcpl = H5Dget_create_plist(r->dset), type = H5Dget_type(r->dset);
    const haddr_t off = H5Dget_offset(r->dset);
    int ok = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS && type >= 0 && H5Tequal(type, H5T_IEEE_F32LE) > 0 &&
             H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) > 0 && off != HADDR_UNDEF && r->n_rows * r->K > 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (type >= 0) H5Tclose(type);
    if (!ok) return;
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    r->fd = fd;
    r->offset = (off_t)off;
    float *a = malloc(2 * (size_t)NN_SEG_SIZE * sizeof(float)), *b = a ? a + NN_SEG_SIZE : NULL;
    const size_t probe[2] = {0, r->n_rows * r->K - 1};
    for (int i = 0; i < 2 && ok; i++)
        ok = a && !read_raw(r, probe[i], a) && !read_hdf5(r, probe[i], b) &&
             !memcmp(a, b, (size_t)NN_SEG_SIZE * sizeof(float));
    free(a);
    if (!ok) {
        close(fd);
        r->fd = -1;
    }
}

static int read_one(train_reader *r, size_t flat, float *dst)
{
    const size_t seg_bytes = (size_t)NN_SEG_SIZE * sizeof(float);
    if (flat >= r->n_rows * r->K)
        return util_fail(r->err, sizeof r->err, UTIL_EFAIL, "%s: segment %zu outside /mel", r->path, flat);
    if (r->cache[flat]) {
        memcpy(dst, r->cache[flat], seg_bytes);
        r->st.cache_hits++;
        return 0;
    }
    int rc = r->fd >= 0 ? read_raw(r, flat, dst) : read_hdf5(r, flat, dst);
    if (rc) return rc;
    r->st.file_reads++;
    if (r->cache_used + seg_bytes <= r->cache_max) {
        float *c = malloc(seg_bytes);
        if (c) {
            memcpy(c, dst, seg_bytes);
            r->cache[flat] = c;
            r->cache_used += seg_bytes;
        }
    }
    return 0;
}

/* one request: reads in file order (sorted flat index), writes each segment at its own place */
static void reader_work(train_reader *r)
{
    double t0 = util_now();
    r->rc = 0;
    if (r->n > r->order_cap) {
        free(r->order);
        r->order = malloc(r->n * sizeof *r->order);
        r->order_cap = r->order ? r->n : 0;
        if (!r->order) {
            r->rc = util_fail(r->err, sizeof r->err, UTIL_EFAIL, "train: out of memory (reader)");
            return;
        }
    }
    for (size_t i = 0; i < r->n; i++) r->order[i] = i;
    sort_base = r->flat; /* only the I/O thread sorts */
    qsort(r->order, r->n, sizeof *r->order, cmp_by_flat);
    for (size_t k = 0; k < r->n && !r->rc; k++) {
        size_t i = r->order[k];
        r->rc = read_one(r, r->flat[i], r->dst + i * (size_t)NN_SEG_SIZE);
    }
    r->st.io_seconds += util_now() - t0;
}

static void *reader_main(void *arg)
{
    train_reader *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->state != READER_REQUEST && r->state != READER_QUIT) pthread_cond_wait(&r->cv, &r->mu);
        if (r->state == READER_QUIT) break;
        pthread_mutex_unlock(&r->mu);
        reader_work(r);
        pthread_mutex_lock(&r->mu);
        r->state = READER_DONE;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int train_reader_open(const char *path, size_t n_rows, size_t K, size_t cache_bytes, train_reader **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    train_reader *r = calloc(1, sizeof *r);
    if (!r) return util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    r->file = r->dset = r->fspace = r->mspace = H5I_INVALID_HID;
    r->fd = -1;
    r->n_rows = n_rows;
    r->K = K;
    r->cache_max = cache_bytes;
    r->path = util_strdup(path);
    r->cache = calloc(n_rows * K + 1, sizeof *r->cache);
    if (!r->path || !r->cache) {
        train_reader_close(r);
        return util_fail(err, errlen, UTIL_EFAIL, "train: out of memory");
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* default file access = the serial sec2 driver: plain POSIX reads, no MPI on the I/O thread */
    r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->file >= 0) r->dset = H5Dopen2(r->file, "mel", H5P_DEFAULT);
    if (r->dset >= 0) r->fspace = H5Dget_space(r->dset);
    hsize_t md[4] = {1, 1, NN_IN_CHANNELS, NN_IN_FRAMES}; /* same shape as the file selection: fast path */
    r->mspace = H5Screate_simple(4, md, NULL);
    if (r->fspace < 0 || r->mspace < 0) {
        train_reader_close(r);
        return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open /mel for reading", path);
    }
    raw_open(r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->state = READER_IDLE;
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
        train_reader_close(r);
        return util_fail(err, errlen, UTIL_EFAIL, "train: cannot start the I/O thread");
    }
    r->thread_ok = 1;
    *out = r;
    return 0;
}

void train_reader_start(train_reader *r, const size_t *flat, size_t n, float *dst)
{
    pthread_mutex_lock(&r->mu);
    r->flat = flat;
    r->n = n;
    r->dst = dst;
    r->state = READER_REQUEST;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int train_reader_wait(train_reader *r, char *err, size_t errlen)
{
    double t0 = util_now();
    pthread_mutex_lock(&r->mu);
    if (r->state == READER_IDLE) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    while (r->state != READER_DONE) pthread_cond_wait(&r->cv, &r->mu);
    r->state = READER_IDLE;
    int rc = r->rc;
    if (rc && err) snprintf(err, errlen, "%s", r->err);
    pthread_mutex_unlock(&r->mu);
    r->st.wait_seconds += util_now() - t0;
    return rc;
}

int train_reader_read(train_reader *r, const size_t *flat, size_t n, float *dst, char *err, size_t errlen)
{
    train_reader_start(r, flat, n, dst);
    return train_reader_wait(r, err, errlen);
}

void train_reader_set_cache_max(train_reader *r, size_t bytes) { r->cache_max = bytes; }

/* ------------------------------------------------------------------ pieces */

static void piece_bounds(const train_pieces *p, size_t k, size_t *lo, size_t *hi)
{
    if (p->start) {
        *lo = p->start[k];
        *hi = p->start[k + 1];
    } else {
        *lo = k * p->chunk;
        *hi = p->n - *lo < p->chunk ? p->n : *lo + p->chunk;
    }
}

static float *piece_dst(const train_pieces *p, size_t k, size_t lo)
{
    return p->into ? p->into + lo * (size_t)NN_SEG_SIZE : p->buf[k & 1];
}

static void piece_start(train_pieces *p, size_t k)
{
    size_t lo, hi;
    piece_bounds(p, k, &lo, &hi);
    train_reader_start(p->r, p->flat + lo, hi - lo, piece_dst(p, k, lo));
}

void train_pieces_begin(train_pieces *p, train_reader *r, const size_t *flat, size_t n, size_t chunk,
                        const size_t *start, size_t n_pieces, float *buf0, float *buf1, float *into)
{
    *p = (train_pieces){r, flat, start, n, chunk, start ? n_pieces : (chunk ? (n + chunk - 1) / chunk : 0), 0,
                        {buf0, buf1}, into};
    if (p->n_pieces > 0) piece_start(p, 0);
}

int train_pieces_next(train_pieces *p, const float **x, size_t *first, size_t *len, char *err, size_t errlen)
{
    if (p->k >= p->n_pieces) return 0;
    int rc = train_reader_wait(p->r, err, errlen);
    if (rc) {
        p->k = p->n_pieces;
        return rc;
    }
    size_t lo, hi;
    piece_bounds(p, p->k, &lo, &hi);
    *x = piece_dst(p, p->k, lo);
    *first = lo;
    *len = hi - lo;
    if (p->k + 1 < p->n_pieces) piece_start(p, p->k + 1);
    p->k++;
    return 1;
}

void train_pieces_stop(train_pieces *p)
{
    train_reader_wait(p->r, NULL, 0);
    p->k = p->n_pieces;
}

train_reader_stats train_reader_get_stats(const train_reader *r)
{
    train_reader_stats s = r->st;
    s.cache_bytes = r->cache_used;
    s.direct = r->fd >= 0;
    return s;
}

void train_reader_close(train_reader *r)
{
    if (!r) return;
    if (r->thread_ok) {
        train_reader_wait(r, NULL, 0);
        pthread_mutex_lock(&r->mu);
        r->state = READER_QUIT;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    if (r->fd >= 0) close(r->fd);
    if (r->mspace >= 0) H5Sclose(r->mspace);
    if (r->fspace >= 0) H5Sclose(r->fspace);
    if (r->dset >= 0) H5Dclose(r->dset);
    if (r->file >= 0) H5Fclose(r->file);
    if (r->cache)
        for (size_t i = 0; i < r->n_rows * r->K; i++) free(r->cache[i]);
    free(r->cache);
    free(r->order);
    free(r->path);
    free(r);
}

/* ------------------------------------------------------------------ serial HDF5 helpers */

static int attr_put(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *v, const char *file,
                    char *err, size_t errlen)
{
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, mtype, v) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return ok ? 0 : util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write attribute %s", file, name);
}

int train_h5_attr_double(hid_t obj, const char *name, double v, const char *file, char *err, size_t errlen)
{
    return attr_put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v, file, err, errlen);
}

int train_h5_attr_long(hid_t obj, const char *name, long long v, const char *file, char *err, size_t errlen)
{
    return attr_put(obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v, file, err, errlen);
}

int train_h5_attr_string(hid_t obj, const char *name, const char *v, const char *file, char *err, size_t errlen)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) ? strlen(v) : 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    char one[1] = {0};
    int rc = attr_put(obj, name, t, t, strlen(v) ? v : one, file, err, errlen);
    H5Tclose(t);
    return rc;
}

static int attr_get(hid_t obj, const char *name, hid_t mtype, void *v, const char *file, char *err, size_t errlen)
{
    hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : H5I_INVALID_HID;
    int ok = a >= 0 && H5Aread(a, mtype, v) >= 0;
    if (a >= 0) H5Aclose(a);
    return ok ? 0 : util_fail(err, errlen, UTIL_EINPUT, "%s: missing or unreadable attribute %s", file, name);
}

int train_h5_get_double(hid_t obj, const char *name, double *v, const char *file, char *err, size_t errlen)
{
    return attr_get(obj, name, H5T_NATIVE_DOUBLE, v, file, err, errlen);
}

int train_h5_get_long(hid_t obj, const char *name, long long *v, const char *file, char *err, size_t errlen)
{
    return attr_get(obj, name, H5T_NATIVE_LLONG, v, file, err, errlen);
}

int train_h5_get_string(hid_t obj, const char *name, char **v, const char *file, char *err, size_t errlen)
{
    *v = NULL;
    hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    int ok = ft >= 0 && H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft);
    if (ok) {
        size_t len = H5Tget_size(ft);
        hid_t mt = H5Tcopy(ft);
        *v = calloc(len + 1, 1);
        ok = *v && H5Aread(a, mt, *v) >= 0;
        H5Tclose(mt);
    }
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    if (!ok) {
        free(*v);
        *v = NULL;
        return util_fail(err, errlen, UTIL_EINPUT, "%s: missing or unreadable string attribute %s", file, name);
    }
    return 0;
}

static int write_1d(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v, size_t n,
                    const char *file, char *err, size_t errlen)
{
    hsize_t d[1] = {n};
    hid_t sp = H5Screate_simple(1, d, NULL);
    hid_t ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ok = ds >= 0 && (n == 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    return ok ? 0 : util_fail(err, errlen, UTIL_EFAIL, "%s: cannot write dataset %s", file, name);
}

static int read_1d(hid_t loc, const char *name, hid_t mtype, void **v, size_t esize, size_t *n, size_t want,
                   const char *file, char *err, size_t errlen)
{
    hid_t ds = H5Lexists(loc, name, H5P_DEFAULT) > 0 ? H5Dopen2(loc, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hsize_t d[1] = {0};
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, d, NULL) == 1;
    if (ok && want != (size_t)-1 && d[0] != want) ok = 0;
    if (ok && !*v) {
        *v = calloc(d[0] + 1, esize);
        ok = *v != NULL;
    }
    if (ok && d[0]) ok = H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v) >= 0;
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    if (n) *n = (size_t)d[0];
    return ok ? 0 : util_fail(err, errlen, UTIL_EINPUT, "%s: missing or malformed dataset %s", file, name);
}

int train_h5_write_floats(hid_t loc, const char *name, const float *v, size_t n, const char *file, char *err,
                          size_t errlen)
{
    return write_1d(loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v, n, file, err, errlen);
}

int train_h5_read_floats(hid_t loc, const char *name, float *v, size_t n, const char *file, char *err, size_t errlen)
{
    void *p = v;
    return read_1d(loc, name, H5T_NATIVE_FLOAT, &p, sizeof(float), NULL, n, file, err, errlen);
}

int train_h5_write_bytes(hid_t loc, const char *name, const char *v, size_t n, const char *file, char *err,
                         size_t errlen)
{
    return write_1d(loc, name, H5T_STD_U8LE, H5T_NATIVE_UCHAR, v, n, file, err, errlen);
}

int train_h5_read_bytes(hid_t loc, const char *name, char **v, size_t *n, const char *file, char *err,
                        size_t errlen)
{
    void *p = NULL;
    int rc = read_1d(loc, name, H5T_NATIVE_UCHAR, &p, 1, n, (size_t)-1, file, err, errlen);
    *v = p;
    return rc;
}
