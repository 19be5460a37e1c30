/* labels.c - label maps: the distinct values of a string column, sorted in byte order so the map
 * does not depend on row order, and the per-row index into it (see shard.h). */
#include "shard/shard.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void shard_labels_free(shard_labels *m)
{
    if (!m) return;
    for (int i = 0; i < m->n; i++) free(m->names[i]);
    free(m->names);
    free(m->index);
    memset(m, 0, sizeof *m);
}

int shard_labels_find(const shard_labels *m, const char *name)
{
    int lo = 0, hi = m->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(m->names[mid], name);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int shard_labels_make(const char *const *values, size_t n, shard_labels *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
    out->index = malloc((n ? n : 1) * sizeof *out->index);
    if (!sorted || !out->index) goto oom;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i] && values[i][0]) sorted[m++] = values[i];
    qsort(sorted, m, sizeof *sorted, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (u == 0 || strcmp(sorted[u - 1], sorted[i])) sorted[u++] = sorted[i];
    out->names = calloc(u ? u : 1, sizeof *out->names);
    if (!out->names) goto oom;
    for (size_t i = 0; i < u; i++) {
        out->names[i] = util_strdup(sorted[i]);
        out->n = (int)i + 1;
        if (!out->names[i]) goto oom;
    }
    out->n_rows = n;
    for (size_t i = 0; i < n; i++)
        out->index[i] = (values[i] && values[i][0]) ? shard_labels_find(out, values[i]) : -1;
    free(sorted);
    return UTIL_OK;
oom:
    free(sorted);
    shard_labels_free(out);
    return util_fail(err, errlen, UTIL_EFAIL, "label map: out of memory (%zu values)", n);
}

int shard_labels_from_list(const shard_list *l, const char *column, shard_labels *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    int c = shard_list_column(l, column);
    if (c < 0) return util_fail(err, errlen, UTIL_EINPUT, "%s: no column '%s' in the track list", l->file, column);
    const char **v = malloc((l->n ? l->n : 1) * sizeof *v);
    if (!v) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", l->file);
    for (size_t i = 0; i < l->n; i++) v[i] = shard_list_cell(l, i, c);
    int rc = shard_labels_make(v, l->n, out, err, errlen);
    free(v);
    return rc;
}
