/* scratch.h - the features of a MIREX scratch folder (`artistnet mirex`, jobs/mirex.c): every
 * extraction run recorded in DIR/extract.tsv, indexed by the absolute path of each file, and the
 * optional DIR/lda.h5 applied before the SVM. What train and classify look a listed file up in. */
#ifndef ARTISTNET_MIREX_SCRATCH_H
#define ARTISTNET_MIREX_SCRATCH_H
#include "reduce/reduce_features.h"
#include "reduce/reduce_lda.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define MIREX_PATH 4096

/* The absolute form of a (resolved) list path: the key features are stored and looked up under
 * (malloc'ed; NULL when out of memory). */
char *mirex_canon(const char *p);

typedef struct {
    const char *path;
    int file;
    long row;
} mirex_key;

typedef struct {
    int n_files;
    reduce_features *f;
    char model[MIREX_PATH]; /* the features' model checksum (or "baseline"), the same for every run */
    int dim;
    mirex_key *keys; /* sorted by path, one per path (the latest run's) */
    long n_keys;
} mirex_index;

/* Reads DIR/extract.tsv and every features file it names (all rows on every rank; collective).
 * UTIL_EINPUT naming the file (and line) when the manifest is missing or mixes models. */
int mirex_index_load(const char *dir, MPI_Comm comm, mirex_index *ix, char *err, size_t errlen);
void mirex_index_free(mirex_index *ix);

typedef enum { MIREX_OK = 0, MIREX_MISSING = 1, MIREX_FAILED = 2, MIREX_NONFINITE = 3 } mirex_found;
extern const char *const mirex_found_names[]; /* "used", "not extracted", ... by mirex_found */

/* The features of an absolute path: MIREX_OK with *x (ix->dim floats), else why not (*why: the
 * extraction's error, or "") */
mirex_found mirex_lookup(const mirex_index *ix, const char *path, const float **x, const char **why);

/* DIR/lda.h5, checked against the features' dimension, and its file hash */
int mirex_lda_load(const char *dir, int dim_in, reduce_lda_model *lda, uint64_t *hash, char *err, size_t errlen);

/* Rows (n x d floats) -> doubles, through the LDA when given (*d_out: its output dimension);
 * NULL when out of memory */
double *mirex_project(const float *x, long n, int d, const reduce_lda_model *lda, int *d_out);

#endif
