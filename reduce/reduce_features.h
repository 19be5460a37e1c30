/* reduce_features.h - reading features.h5 (DESIGN.md "Files") for the LDA and SVM stages, and
 * turning a label column into dense class ids that agree across ranks.
 *
 * features.h5: /ids and one string dataset per list column (/artist, /genre, /fold, ...; fixed-length
 * UTF-8, variable-length strings are read too), /features float32 (N, d), /n_segments int32 (N),
 * /status int8 (N, 0 = ok), /errors. The file is opened with the MPI-IO driver on `comm` (collective);
 * each rank reads either its own contiguous block of rows or every row (small MIREX task files,
 * where every rank needs all rows). Blocks are runs of whole GROUPS of REDUCE_GROUP_ROWS rows
 * (G = ceil(N / REDUCE_GROUP_ROWS) groups; rank r gets groups [G*r/P, G*(r+1)/P)), so whatever is
 * computed per group (the LDA scatter, reduce_lda.h) sees the same rows on any rank count.
 * Relies on parallel HDF5 (H5Pset_fapl_mpio, hyperslab selections, collective transfers). */
#ifndef ARTISTNET_REDUCE_FEATURES_H
#define ARTISTNET_REDUCE_FEATURES_H
#include <mpi.h>
#include <stddef.h>

typedef struct {
    char *name;   /* dataset name without '/', e.g. "artist" */
    char **v;     /* n strings (point into pool) */
    char *pool;
} reduce_column;

typedef struct {
    long n_total;          /* rows in the file */
    long offset, n;        /* this rank's rows: [offset, offset + n) */
    int dim;               /* feature dimension (256 for the DCNN) */
    float *x;              /* n x dim, row-major */
    signed char *status;   /* n; 0 = ok (all 0 when the file has no /status) */
    int n_columns;
    reduce_column *columns; /* "ids" first, then the requested columns, in request order */
} reduce_features;

enum { REDUCE_READ_BLOCK = 0, REDUCE_READ_ALL = 1 };
#define REDUCE_GROUP_ROWS 1024 /* rows per fixed group of REDUCE_READ_BLOCK */

/* Collective over comm. columns: names of string datasets to read besides /ids (NULL entries and
 * names already read are skipped; optional[i] != 0 means "read if present, else no column").
 * A missing required column -> UTIL_EINPUT naming the file, the column and the columns present. */
int reduce_features_read(const char *path, MPI_Comm comm, int mode, const char *const *columns,
                         const int *optional, int n_columns, reduce_features *out, char *err,
                         size_t errlen);
void reduce_features_free(reduce_features *f);
/* the values of a column (NULL if not read / not present) */
char **reduce_features_column(const reduce_features *f, const char *name);

/* Class map: the sorted distinct non-empty values of a label column over all ranks' rows where
 * use[i] != 0 (use may be NULL). Collective: ranks gather their distinct values on rank 0, which
 * merges and broadcasts them, so every rank gets the same list whatever the split.
 * ids[i] = index into names, or -1 where !use[i] or the value is empty. */
typedef struct {
    int n;
    char **names;  /* sorted (strcmp), point into pool */
    char *pool;
} reduce_classes;

int reduce_classes_build(MPI_Comm comm, char *const *values, const signed char *use, long n,
                         reduce_classes *out, int *ids, char *err, size_t errlen);
/* index of name in the class list, -1 if absent */
int reduce_classes_find(const reduce_classes *c, const char *name);
void reduce_classes_free(reduce_classes *c);

#endif
