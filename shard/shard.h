/* shard.h - track lists and how they are cut up: the TSV / MIREX list loader with line-numbered
 * errors (list.c), label maps (labels.c), per-artist train/validation/test splits by song and
 * artist-filtered stratified k-fold assignment (split.c), static row ranges per rank (range.c).
 * Formats: ../shared/DESIGN.md "Files". Plain C, no MPI: jobs load the list on every rank.
 *
 * Errors return UTIL_EINPUT (exit 2) with "file:line: what is wrong" in err.
 */
#ifndef ARTISTNET_SHARD_H
#define ARTISTNET_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* ---- track lists (list.c) ---- */
typedef struct {
    char *file;       /* the list file as given */
    size_t n;         /* tracks (rows), list order */
    char **paths;     /* resolved paths: relative ones joined to the list file's folder */
    char **raw_paths; /* the path column as written */
    char **ids;       /* `id` column, or the path as written when there is none */
    int *lines;       /* line number of each row in the file (1-based) */
    int n_cols;       /* other columns, header order (not path, not id) */
    char **col_names; /* n_cols names */
    char **cells;     /* cells[row * n_cols + c] */
    int mirex;        /* 1 when read as a MIREX list (no header) */
    uint64_t hash;    /* FNV-1a of the file's bytes */
} shard_list;

/* Loads a track list: a TSV with a header row naming the columns (`path` required, `id` optional,
 * others kept as string columns), or a MIREX list without header (one column of paths, or
 * path<TAB>label -> column `label`). `#` comment lines, blank lines, CRLF and a UTF-8 BOM are
 * accepted. A first line without a `path` field is read as a MIREX list when it has one or two
 * fields that are not all well-known column names (id, label, artist, fold, genre, mood, split).
 * Returns 0, or UTIL_EINPUT with "file:line: ..." (missing path column, wrong column count,
 * duplicate id naming both lines, empty list, invalid UTF-8, empty path, duplicate column). */
int shard_list_load(const char *file, shard_list *out, char *err, size_t errlen);
/* Same, from a buffer; `file` names it in messages and gives the folder for relative paths. */
int shard_list_parse(const char *file, const char *text, size_t len, shard_list *out, char *err,
                     size_t errlen);
void shard_list_free(shard_list *l);
/* index of a column (not path/id) by name, -1 when absent */
int shard_list_column(const shard_list *l, const char *name);
/* cell of row i in column c */
static inline const char *shard_list_cell(const shard_list *l, size_t i, int c)
{
    return l->cells[i * (size_t)l->n_cols + (size_t)c];
}

/* ---- label maps (labels.c) ---- */
typedef struct {
    int n;         /* distinct names */
    char **names;  /* sorted (byte order), index = label */
    int *index;    /* per row: label index, -1 for an empty value */
    size_t n_rows;
} shard_labels;

/* Distinct non-empty values sorted by strcmp; index[i] = position of values[i]. Deterministic:
 * the same set of values gives the same map whatever their order. Returns 0 or UTIL_EFAIL. */
int shard_labels_make(const char *const *values, size_t n, shard_labels *out, char *err, size_t errlen);
/* From a list column by name; UTIL_EINPUT "file: no column 'x'" when missing. */
int shard_labels_from_list(const shard_list *l, const char *column, shard_labels *out, char *err,
                           size_t errlen);
/* label of a name, -1 if absent (binary search) */
int shard_labels_find(const shard_labels *m, const char *name);
void shard_labels_free(shard_labels *m);

/* ---- splits and folds (split.c) ---- */
enum { SHARD_TRAIN = 0, SHARD_VALID = 1, SHARD_TEST = 2 };
extern const char *const shard_split_names[3]; /* "train", "valid", "test" */

/* Per-artist split by song: the songs (rows) of each artist are shuffled with a generator seeded
 * by (seed, artist) and cut in proportion to frac[0..2] (e.g. 15, 3, 2) by largest remainder, so
 * 20 songs give exactly 15/3/2. Rows with artist -1 go to train. split[i] gets SHARD_*.
 * Deterministic for a given (artist, seed), independent of the other artists. */
int shard_split_by_artist(const int *artist, size_t n, const double frac[3], uint64_t seed,
                          int *split, char *err, size_t errlen);

/* Artist-filtered stratified k-fold, one implementation with the two published rules: every artist's
 * rows go to one fold (no artist on both sides of any fold, MIREX's filter), groups are placed
 * largest first, each into the fold where it costs least (ties: the fold with fewer rows, then the
 * lower index). artist may be NULL or -1 (each row its own group). Deterministic for a seed.
 *   SHARD_FOLDS_LIST (`lists folds`, the fold column): every row takes part, label -1 counting as a
 *     class (label may be NULL); groups of one size in a seeded order (one draw per group in artist
 *     order); cost: growth of the squared deviation of the fold's per-class counts from their target
 *     (class count / k); while as many folds are empty as groups are left, only empty folds are
 *     candidates. k >= 2 (UTIL_EUSAGE); fewer groups than folds: UTIL_EINPUT.
 *   SHARD_FOLDS_EVALUATE (`evaluate`'s seeded outer and inner folds, `mirex train`'s inner folds: the
 *     folds of folds.tsv and results.json): rows with label < 0 take no part (fold -1); groups in a
 *     seeded Fisher-Yates shuffle, then stably by size; cost: sum over the group's rows of the share
 *     of their class already in the fold (cnt[f][l] / total[l]); folds may stay empty.
 * fold[i] in [0, k) (or -1). Returns 0, or a util.h code with a message. */
typedef enum { SHARD_FOLDS_LIST, SHARD_FOLDS_EVALUATE } shard_folds_rule;
int shard_folds_assign(const int *artist, const int *label, size_t n, int k, uint64_t seed, shard_folds_rule rule,
                       int *fold, char *err, size_t errlen);

/* ---- static ranges (range.c) ---- */
/* Rows [*lo, *hi) of part p of `parts` nearly equal contiguous parts of n. */
void shard_range(size_t n, int p, int parts, size_t *lo, size_t *hi);

/* small deterministic generator (splitmix64) used for splits, folds and shuffles */
uint64_t shard_rng_next(uint64_t *state);
/* Fisher-Yates shuffle of idx[0..n) */
void shard_shuffle(size_t *idx, size_t n, uint64_t *state);

#endif
