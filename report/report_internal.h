/* report_internal.h - private pieces of the report module (report/): a growable text buffer
 * with XML escaping and base64, SVG charts drawn directly (line, grouped bars, horizontal bars,
 * heat map, scatter) and readers for the run folder's TSV and HDF5 files (results.json is read
 * with jansson in page.c). Nothing here is used outside report/. */
#ifndef ARTISTNET_REPORT_INTERNAL_H
#define ARTISTNET_REPORT_INTERNAL_H
#include <stddef.h>

/* ---- text buffer (report_svg.c) ---- */
typedef struct {
    char *s;
    size_t n, cap;
    int oom; /* set once an allocation failed; further appends are dropped */
} report_buf;

void report_buf_printf(report_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_buf_put(report_buf *b, const char *s, size_t n);
/* text or attribute value: & < > " ' escaped, control characters dropped, invalid UTF-8 -> '?' */
void report_buf_esc(report_buf *b, const char *s);
void report_buf_base64(report_buf *b, const char *data, size_t n);
void report_buf_free(report_buf *b);

/* ---- colours ---- */
extern const char *const report_palette[20];
const char *report_set_colour(const char *set, int index);

/* ---- charts: each writes one standalone SVG document into b ---- */
typedef struct {
    const char *name;
    const double *x, *y; /* n points; NaN y = gap */
    int n;
    const char *colour;
    int dashed;
} report_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int width, height;
    double ymin, ymax; /* ymin >= ymax: automatic */
} report_axes;

void report_svg_lines(report_buf *b, const report_axes *ax, const report_series *s, int ns);
/* groups x series bars, v[g * ns + s] (NaN: no bar); err[g * ns + s] > 0 draws an error bar (err may be NULL) */
void report_svg_bars(report_buf *b, const report_axes *ax, const char *const *groups, int ng,
                         const char *const *series, const char *const *colours, int ns, const double *v,
                         const double *err);
/* horizontal bars with a value label after each bar (unit appended) */
void report_svg_hbars(report_buf *b, const report_axes *ax, const char *const *names, const double *v,
                          int n, const char *colour, const char *unit);
/* L x L counts (rows = true class); colour by row-normalised fraction, counts in the cells */
void report_svg_heatmap(report_buf *b, const char *title, const char *const *classes, int L, const double *conf,
                            const char *colour);
/* n points with class index cls[i] in [0, L) */
void report_svg_scatter(report_buf *b, const report_axes *ax, const double *x, const double *y,
                            const int *cls, long n, const char *const *classes, int L);

/* ---- run folder readers (report_data.c) ---- */
typedef struct {
    int n_cols;
    char **cols; /* header names */
    long n_rows;
    char ***rows; /* rows[r][c] ("" when the row is short) */
} report_tsv;

int report_tsv_load(const char *path, report_tsv *t, char *err, size_t errlen);
void report_tsv_free(report_tsv *t);
int report_tsv_col(const report_tsv *t, const char *name); /* -1 when absent */

/* one root attribute of an .h5 file */
typedef struct {
    char name[128];
    int is_string;
    char *text;     /* value as text (strings, scalars; arrays: "[a, b, ...]") */
    int n;          /* numeric: number of elements */
    double *v;      /* numeric values */
} report_h5_attr;

typedef struct {
    char path[4096];
    int ok;                 /* opened */
    long n_rows;            /* rows of /status (or /ids), -1 if none */
    signed char *status;    /* n_rows or NULL */
    char **ids, **errors;   /* n_rows or NULL */
    int n_attrs;
    report_h5_attr *attrs;
} report_h5_info;

/* Reads the root attributes and /ids, /status, /errors when present (missing file: ok = 0, rc 0). */
int report_h5_info_load(const char *path, report_h5_info *h, char *err, size_t errlen);
void report_h5_info_free(report_h5_info *h);
const report_h5_attr *report_h5_info_attr(const report_h5_info *h, const char *name);

/* A numeric dataset read as doubles (any integer/float type); dims[0..rank). */
int report_h5_read_doubles(const char *path, const char *name, double **out, int *rank, size_t dims[8], char *err,
                        size_t errlen);
/* A string dataset (fixed or variable length), n strings (free with report_h5_strings_free). */
int report_h5_read_strings(const char *path, const char *name, char ***out, size_t *n, char *err, size_t errlen);
void report_h5_strings_free(char **s, size_t n);

#endif
