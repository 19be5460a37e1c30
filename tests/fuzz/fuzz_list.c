/* fuzz_list.c - libFuzzer target for the track-list parser: shard_list_parse on the raw bytes (not
 * NUL-terminated, so an over-read is an ASan error), then the label map of every column, as the
 * jobs use them. Seeds: tests/fuzz/corpus/fuzz_list (TSV with header, MIREX one- and two-column
 * lists, comments, CRLF, BOM, UTF-8, and the error cases). */
#include "shard/shard.h"
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    shard_list l;
    char err[512];
    int rc = shard_list_parse("fuzz/list.tsv", (const char *)data, size, &l, err, sizeof err);
    if (rc) {
        if (rc != UTIL_EINPUT && rc != UTIL_EFAIL) abort(); /* documented codes only */
        if (!err[0] || strncmp(err, "fuzz/list.tsv", 13)) abort(); /* the message names the file */
        return 0;
    }
    if (l.n == 0) abort(); /* an empty list is an error */
    for (size_t i = 0; i < l.n; i++)
        if (!l.paths[i] || !l.paths[i][0] || !l.ids[i] || l.lines[i] < 1) abort();
    for (int c = 0; c < l.n_cols; c++) {
        if (shard_list_column(&l, l.col_names[c]) != c) abort(); /* duplicate column names are errors */
        shard_labels m;
        if (shard_labels_from_list(&l, l.col_names[c], &m, err, sizeof err) == 0) {
            for (size_t i = 0; i < l.n; i++) {
                const char *v = shard_list_cell(&l, i, c);
                int k = m.index[i];
                if (v[0] ? (k < 0 || k >= m.n || strcmp(m.names[k], v)) : k != -1) abort();
            }
            shard_labels_free(&m);
        }
    }
    shard_list_free(&l);
    return 0;
}
