/* train_data.h - the data side of the trainer (train/train.c): mels.h5 metadata, labels and the
 * train/validation/test split, the segment lists, a prefetching segment reader with an optional
 * in-memory cache, and the few serial-HDF5 helpers the checkpoint needs. Private to train/.
 *
 * A segment is named by its flat index row * K + s into the first two dimensions of /mel (N, K, 128,
 * 129). Segment lists are in row order (songs contiguous), so a song's segments are adjacent.
 */
#ifndef ARTISTNET_TRAIN_TRAIN_DATA_H
#define ARTISTNET_TRAIN_TRAIN_DATA_H

#include <hdf5.h>
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *path;
    size_t n_rows, K;            /* /mel is (n_rows, K, 128, 129) */
    int n_classes;
    char **artists;              /* n_classes names (sorted), the model's output order */
    int *label;                  /* per row: class, -1 when the row is not used */
    int *split;                  /* per row: SHARD_TRAIN/VALID/TEST, -1 when not used */
    int split_given;             /* 1: the /split column was used as given */
    long n_failed;               /* rows with status != 0 */
    long n_unlabelled;           /* ok rows without an artist (or empty split value) */
    size_t n_seg[3], *seg[3];    /* flat segment indices of each split, row order */
    size_t n_song[3];            /* rows (songs) with >= 1 segment per split */
    uint64_t meta_hash;          /* FNV-1a over ids, labels, split, status, n_segments, dims */
    char resampler[32];          /* the front end's resampler (attribute; "soxr-hq" when absent) */
} train_data;

/* Collective: reads the metadata of mels.h5 (parallel HDF5 store), builds labels from `label_col`
 * over ok rows and the split: the /split column when present (train, valid|validation|val, test;
 * other values are an input error naming the row), else shard_split_by_artist(frac, seed). */
int train_data_load(MPI_Comm comm, const char *path, const char *label_col, const double frac[3],
                    uint64_t seed, train_data *d, char *err, size_t errlen);
void train_data_free(train_data *d);

/* ---- prefetching reader (one I/O thread per rank) ----
 * Reads segments with independent serial-HDF5 (sec2) reads of the read-only mels.h5 (or, when /mel
 * is contiguous little-endian float, one pread per segment at its file offset) on a thread of
 * its own while the caller computes: start() hands over a request, wait() blocks until it is done.
 * The thread makes no MPI calls (the job runs with MPI_THREAD_FUNNELED), and the HDF5 library is
 * not thread-safe, so the caller must not use HDF5 between start() and wait(). Segments read once
 * are kept in memory until cache_bytes are used (no eviction): when a rank's working set fits, every
 * segment is read from the file once per run. */
typedef struct train_reader train_reader;
int train_reader_open(const char *path, size_t n_rows, size_t K, size_t cache_bytes, train_reader **out,
                      char *err, size_t errlen);
/* Reads n segments (flat indices, any order) into dst (n x 128*129 floats) on the I/O thread.
 * `flat` must stay valid until wait(). */
void train_reader_start(train_reader *r, const size_t *flat, size_t n, float *dst);
/* Blocks until the request is done; returns its code (message in err). Fine when nothing started. */
int train_reader_wait(train_reader *r, char *err, size_t errlen);
/* start + wait */
int train_reader_read(train_reader *r, const size_t *flat, size_t n, float *dst, char *err, size_t errlen);
typedef struct {
    long file_reads, cache_hits;
    size_t cache_bytes;
    double io_seconds;   /* time the I/O thread spent reading */
    double wait_seconds; /* time the caller spent blocked in wait() */
    int direct;          /* 1: segments read with pread at /mel's file offset (contiguous), 0: through HDF5 */
} train_reader_stats;
train_reader_stats train_reader_get_stats(const train_reader *r);
/* Caps the segment cache at `bytes` from now on (0: read without caching); between requests only. */
void train_reader_set_cache_max(train_reader *r, size_t bytes);
void train_reader_close(train_reader *r);

/* ---- pieces: a list of segments read in consecutive pieces, double-buffered (the next piece is
 * read on the I/O thread while the caller works on this one) ----
 * Piece k is flat[start[k] .. start[k + 1]) for k < n_pieces, or, with start NULL, the k-th run of
 * `chunk` segments of flat[0 .. n). A piece lands in buf0 and buf1 in turn, or, with `into`, at
 * into + (its first index) x 128*129 floats (the list read into one contiguous block).
 *   train_pieces p; train_pieces_begin(&p, ...);
 *   while ((rc = train_pieces_next(&p, &x, &first, &len, err, errlen)) > 0) { work; on error: train_pieces_stop }
 * next() returns 1 with a piece, 0 after the last, or the reader's error code (< 0; nothing is then
 * left in flight). stop(): a caller leaving early waits for the piece in flight. */
typedef struct {
    train_reader *r;
    const size_t *flat, *start;
    size_t n, chunk, n_pieces, k;
    float *buf[2], *into;
} train_pieces;
void train_pieces_begin(train_pieces *p, train_reader *r, const size_t *flat, size_t n, size_t chunk,
                        const size_t *start, size_t n_pieces, float *buf0, float *buf1, float *into);
int train_pieces_next(train_pieces *p, const float **x, size_t *first, size_t *len, char *err, size_t errlen);
void train_pieces_stop(train_pieces *p);

/* ---- serial HDF5 helpers (checkpoint state, model.h5 attributes); names file + object on error ---- */
int train_h5_attr_double(hid_t obj, const char *name, double v, const char *file, char *err, size_t errlen);
int train_h5_attr_long(hid_t obj, const char *name, long long v, const char *file, char *err, size_t errlen);
int train_h5_attr_string(hid_t obj, const char *name, const char *v, const char *file, char *err, size_t errlen);
int train_h5_get_double(hid_t obj, const char *name, double *v, const char *file, char *err, size_t errlen);
int train_h5_get_long(hid_t obj, const char *name, long long *v, const char *file, char *err, size_t errlen);
/* malloc'ed string attribute */
int train_h5_get_string(hid_t obj, const char *name, char **v, const char *file, char *err, size_t errlen);
/* 1-D datasets: float32 or bytes (uint8) */
int train_h5_write_floats(hid_t loc, const char *name, const float *v, size_t n, const char *file, char *err,
                          size_t errlen);
int train_h5_read_floats(hid_t loc, const char *name, float *v, size_t n, const char *file, char *err,
                         size_t errlen);
int train_h5_write_bytes(hid_t loc, const char *name, const char *v, size_t n, const char *file, char *err,
                         size_t errlen);
/* malloc'ed, NUL-terminated */
int train_h5_read_bytes(hid_t loc, const char *name, char **v, size_t *n, const char *file, char *err,
                        size_t errlen);

#endif
