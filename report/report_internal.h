/* report_internal.h - private pieces of `artistnet report` (jobs/report*.c): a growable text buffer
 * with XML escaping and base64, SVG charts drawn directly (line, grouped bars, horizontal bars,
 * heat map, scatter), a small JSON reader for results.json, and readers for the run folder's TSV
 * and HDF5 files. Nothing here is used outside jobs/report*.c. */
#ifndef ARTISTNET_JOBS_REPORT_INTERNAL_H
#define ARTISTNET_JOBS_REPORT_INTERNAL_H
#include <stddef.h>

/* ---- text buffer (report_svg.c) ---- */
typedef struct {
    char *s;
    size_t n, cap;
    int oom; /* set once an allocation failed; further appends are dropped */
} job_report_buf;

void job_report_buf_printf(job_report_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void job_report_buf_put(job_report_buf *b, const char *s, size_t n);
/* text or attribute value: & < > " ' escaped, control characters dropped, invalid UTF-8 -> '?' */
void job_report_buf_esc(job_report_buf *b, const char *s);
void job_report_buf_base64(job_report_buf *b, const char *data, size_t n);
void job_report_buf_free(job_report_buf *b);

/* ---- colours ---- */
extern const char *const job_report_palette[20];
const char *job_report_set_colour(const char *set, int index);

/* ---- charts: each writes one standalone SVG document into b ---- */
typedef struct {
    const char *name;
    const double *x, *y; /* n points; NaN y = gap */
    int n;
    const char *colour;
    int dashed;
} job_report_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int width, height;
    double ymin, ymax; /* ymin >= ymax: automatic */
} job_report_axes;

void job_report_svg_lines(job_report_buf *b, const job_report_axes *ax, const job_report_series *s, int ns);
/* groups x series bars, v[g * ns + s] (NaN: no bar); err[g * ns + s] > 0 draws an error bar (err may be NULL) */
void job_report_svg_bars(job_report_buf *b, const job_report_axes *ax, const char *const *groups, int ng,
                         const char *const *series, const char *const *colours, int ns, const double *v,
                         const double *err);
/* horizontal bars with a value label after each bar (unit appended) */
void job_report_svg_hbars(job_report_buf *b, const job_report_axes *ax, const char *const *names, const double *v,
                          int n, const char *colour, const char *unit);
/* L x L counts (rows = true class); colour by row-normalised fraction, counts in the cells */
void job_report_svg_heatmap(job_report_buf *b, const char *title, const char *const *classes, int L, const double *conf,
                            const char *colour);
/* n points with class index cls[i] in [0, L) */
void job_report_svg_scatter(job_report_buf *b, const job_report_axes *ax, const double *x, const double *y,
                            const int *cls, long n, const char *const *classes, int L);

/* ---- JSON (report_json.c): a small DOM, enough for results.json ---- */
typedef enum { JOB_JSON_NULL, JOB_JSON_BOOL, JOB_JSON_NUM, JOB_JSON_STR, JOB_JSON_ARR, JOB_JSON_OBJ } job_json_type;

typedef struct job_json {
    job_json_type type;
    double num;             /* NUM, BOOL (0/1) */
    char *str;              /* STR */
    int n;                  /* ARR, OBJ: number of items */
    struct job_json *items; /* ARR, OBJ */
    char **keys;            /* OBJ */
} job_json;

/* Parses a whole file; UTIL_EINPUT with "path:line: message" on a syntax error. */
int job_json_load(const char *path, job_json *out, char *err, size_t errlen);
int job_json_parse(const char *text, const char *name, job_json *out, char *err, size_t errlen);
void job_json_free(job_json *v);
const job_json *job_json_get(const job_json *obj, const char *key); /* NULL when absent / not an object */
const job_json *job_json_at(const job_json *arr, int i);            /* NULL when out of range */
double job_json_num(const job_json *v, double def);                 /* def unless a number */
const char *job_json_str(const job_json *v, const char *def);

/* ---- run folder readers (report_data.c) ---- */
typedef struct {
    int n_cols;
    char **cols; /* header names */
    long n_rows;
    char ***rows; /* rows[r][c] ("" when the row is short) */
} job_tsv;

int job_tsv_load(const char *path, job_tsv *t, char *err, size_t errlen);
void job_tsv_free(job_tsv *t);
int job_tsv_col(const job_tsv *t, const char *name); /* -1 when absent */

/* one root attribute of an .h5 file */
typedef struct {
    char name[128];
    int is_string;
    char *text;     /* value as text (strings, scalars; arrays: "[a, b, ...]") */
    int n;          /* numeric: number of elements */
    double *v;      /* numeric values */
} job_h5_attr;

typedef struct {
    char path[4096];
    int ok;                 /* opened */
    long n_rows;            /* rows of /status (or /ids), -1 if none */
    signed char *status;    /* n_rows or NULL */
    char **ids, **errors;   /* n_rows or NULL */
    int n_attrs;
    job_h5_attr *attrs;
} job_h5_info;

/* Reads the root attributes and /ids, /status, /errors when present (missing file: ok = 0, rc 0). */
int job_h5_info_load(const char *path, job_h5_info *h, char *err, size_t errlen);
void job_h5_info_free(job_h5_info *h);
const job_h5_attr *job_h5_info_attr(const job_h5_info *h, const char *name);

/* A numeric dataset read as doubles (any integer/float type); dims[0..rank). */
int job_h5_read_doubles(const char *path, const char *name, double **out, int *rank, size_t dims[8], char *err,
                        size_t errlen);
/* A string dataset (fixed or variable length), n strings (free with job_h5_strings_free). */
int job_h5_read_strings(const char *path, const char *name, char ***out, size_t *n, char *err, size_t errlen);
void job_h5_strings_free(char **s, size_t n);

#endif
