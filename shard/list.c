/* list.c - track list loader: TSV with a header (`path` required, `id` optional, other columns kept
 * as strings) or MIREX lists without header (`path`, or `path<TAB>label`). Every error names the
 * file and line (libsvm's "Wrong input format at line %d"). See shard.h and DESIGN.md "Files". */
#include "shard/shard.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Column names that make a one- or two-field first line a header (without `path`) rather than a
 * MIREX list entry. */
static const char *const known_columns[] = {"id", "label", "artist", "fold", "genre", "mood",
                                            "split", "title", "album", "song", NULL};

static int is_known_column(const char *s)
{
    for (int i = 0; known_columns[i]; i++)
        if (!strcmp(s, known_columns[i])) return 1;
    return 0;
}

void shard_list_free(shard_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->paths) free(l->paths[i]);
        if (l->raw_paths) free(l->raw_paths[i]);
        if (l->ids) free(l->ids[i]);
        if (l->cells)
            for (int c = 0; c < l->n_cols; c++) free(l->cells[i * (size_t)l->n_cols + (size_t)c]);
    }
    for (int c = 0; c < l->n_cols && l->col_names; c++) free(l->col_names[c]);
    free(l->paths);
    free(l->raw_paths);
    free(l->ids);
    free(l->lines);
    free(l->col_names);
    free(l->cells);
    free(l->file);
    memset(l, 0, sizeof *l);
}

int shard_list_column(const shard_list *l, const char *name)
{
    for (int c = 0; c < l->n_cols; c++)
        if (!strcmp(l->col_names[c], name)) return c;
    return -1;
}

int shard_list_load(const char *file, shard_list *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(file, "rb");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: cannot open track list: %s", file, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory reading the track list", file);
    if (bad) {
        free(buf);
        return util_fail(err, errlen, UTIL_EINPUT, "%s: read error", file);
    }
    int rc = shard_list_parse(file, buf, len, out, err, errlen);
    free(buf);
    return rc;
}

static char *resolve(const char *file, const char *raw)
{
    const char *slash = strrchr(file, '/');
    if (raw[0] == '/' || !slash) return util_strdup(raw);
    size_t dl = (size_t)(slash - file);
    size_t n = dl + 1 + strlen(raw) + 1;
    char *p = malloc(n);
    if (!p) return NULL;
    memcpy(p, file, dl);
    p[dl] = '/';
    strcpy(p + dl + 1, raw);
    return p;
}

typedef struct {
    const char *id;
    size_t row;
} id_entry;

static int cmp_id(const void *a, const void *b)
{
    const id_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c) return c;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int grow_rows(shard_list *l, size_t *cap)
{
    size_t nc = *cap ? *cap * 2 : 256;
    char **p = realloc(l->paths, nc * sizeof *p);
    if (!p) return -1;
    l->paths = p;
    p = realloc(l->raw_paths, nc * sizeof *p);
    if (!p) return -1;
    l->raw_paths = p;
    p = realloc(l->ids, nc * sizeof *p);
    if (!p) return -1;
    l->ids = p;
    int *ln = realloc(l->lines, nc * sizeof *ln);
    if (!ln) return -1;
    l->lines = ln;
    if (l->n_cols) {
        p = realloc(l->cells, nc * (size_t)l->n_cols * sizeof *p);
        if (!p) return -1;
        l->cells = p;
    }
    *cap = nc;
    return 0;
}

int shard_list_parse(const char *file, const char *text, size_t len, shard_list *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->file = util_strdup(file);
    out->hash = util_fnv1a(UTIL_FNV_INIT, text, len);
    char *buf = malloc(len + 1);
    char **fields = NULL;
    int fcap = 0;
    int rc = UTIL_OK;
    size_t rcap = 0;
    int n_fields = 0;       /* fields per row (header count or MIREX count) */
    int path_col = -1, id_col = -1, header_line = 0;
    int *col_map = NULL;    /* field index -> column index (-1 for path/id) */
    id_entry *ents = NULL;
    if (!buf || !out->file) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
    memcpy(buf, text, len);
    buf[len] = 0;
    size_t pos = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3; /* UTF-8 byte order mark */
    int lineno = 0;
    int started = 0;
    while (pos < len) {
        lineno++;
        char *line = buf + pos;
        char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        if (memchr(line, 0, ll)) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: NUL byte in the line (binary file?)", file, lineno);
            goto done;
        }
        line[ll] = 0;
        if (ll && line[ll - 1] == '\r') line[--ll] = 0;
        if (!util_utf8_valid(line, ll)) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: invalid UTF-8", file, lineno);
            goto done;
        }
        if (line[0] == '#') continue;
        if (strspn(line, " \t") == ll) continue; /* blank */
        int nf = util_split_tabs_grow(line, &fields, &fcap);
        if (nf < 0) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
        if (!started) {
            started = 1;
            for (int i = 0; i < nf; i++) {
                if (!strcmp(fields[i], "path")) path_col = i;
            }
            if (path_col >= 0) {
                header_line = lineno;
                n_fields = nf;
                col_map = malloc((size_t)nf * sizeof *col_map);
                out->col_names = calloc((size_t)nf, sizeof *out->col_names);
                if (!col_map || !out->col_names) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
                for (int i = 0; i < nf; i++) {
                    if (!fields[i][0]) {
                        rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: header column %d has no name", file, lineno, i + 1);
                        goto done;
                    }
                    for (int j = 0; j < i; j++)
                        if (!strcmp(fields[i], fields[j])) {
                            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: header names column '%s' twice", file, lineno, fields[i]);
                            goto done;
                        }
                    if (i == path_col) { col_map[i] = -1; continue; }
                    if (!strcmp(fields[i], "id")) { id_col = i; col_map[i] = -1; continue; }
                    col_map[i] = out->n_cols;
                    out->col_names[out->n_cols++] = util_strdup(fields[i]);
                }
                continue;
            }
            /* no `path` field: a MIREX list, unless the line reads like a header */
            int all_known = 1;
            for (int i = 0; i < nf; i++) all_known &= is_known_column(fields[i]);
            if (nf > 2 || all_known) {
                rc = util_fail(err, errlen, UTIL_EINPUT,
                               "%s:%d: the header has no 'path' column (a track list needs one; a MIREX list "
                               "without header has 1 or 2 columns: path[<TAB>label])", file, lineno);
                goto done;
            }
            out->mirex = 1;
            header_line = lineno;
            n_fields = nf;
            path_col = 0;
            col_map = malloc(2 * sizeof *col_map);
            if (!col_map) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
            col_map[0] = -1;
            if (nf == 2) {
                col_map[1] = 0;
                out->col_names = calloc(1, sizeof *out->col_names);
                if (!out->col_names) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
                out->col_names[0] = util_strdup("label");
                out->n_cols = 1;
            }
            /* fall through: this line is a row */
        }
        if (nf != n_fields) {
            if (out->mirex)
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: %d columns, but this MIREX list has %d (line %d)",
                               file, lineno, nf, n_fields, header_line);
            else
                rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: %d columns, but the header (line %d) has %d",
                               file, lineno, nf, header_line, n_fields);
            goto done;
        }
        const char *raw = fields[path_col];
        if (!raw[0]) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: empty path", file, lineno);
            goto done;
        }
        if (id_col >= 0 && !fields[id_col][0]) {
            rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: empty id", file, lineno);
            goto done;
        }
        if (out->n == rcap && grow_rows(out, &rcap)) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file);
            goto done;
        }
        size_t r = out->n;
        out->raw_paths[r] = util_strdup(raw);
        out->paths[r] = resolve(file, raw);
        out->ids[r] = util_strdup(id_col >= 0 ? fields[id_col] : raw);
        out->lines[r] = lineno;
        for (int i = 0; i < nf; i++)
            if (col_map[i] >= 0) out->cells[r * (size_t)out->n_cols + (size_t)col_map[i]] = util_strdup(fields[i]);
        out->n++;
        int oom = !out->raw_paths[r] || !out->paths[r] || !out->ids[r];
        for (int c = 0; c < out->n_cols; c++) oom |= !out->cells[r * (size_t)out->n_cols + (size_t)c];
        if (oom) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
    }
    if (out->n == 0) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: empty list (no tracks)", file, lineno > 0 ? lineno : 1);
        goto done;
    }
    /* duplicate ids: sort (id, row); report the pair whose later line comes first in the file */
    ents = malloc(out->n * sizeof *ents);
    if (!ents) { rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", file); goto done; }
    for (size_t i = 0; i < out->n; i++) ents[i] = (id_entry){out->ids[i], i};
    qsort(ents, out->n, sizeof *ents, cmp_id);
    size_t dup_first = 0, dup_second = (size_t)-1;
    for (size_t i = 1, first = 0; i < out->n; i++) {
        if (strcmp(ents[i].id, ents[i - 1].id)) { first = i; continue; }
        if (ents[i].row < dup_second) { dup_second = ents[i].row; dup_first = ents[first].row; }
    }
    if (dup_second != (size_t)-1) {
        rc = util_fail(err, errlen, UTIL_EINPUT, "%s:%d: duplicate id '%s' (also on line %d)", file,
                       out->lines[dup_second], out->ids[dup_second], out->lines[dup_first]);
        goto done;
    }
done:
    free(ents);
    free(col_map);
    free(fields);
    free(buf);
    if (rc) shard_list_free(out);
    return rc;
}
