/* results.c - results.json and the results summary of an evaluation (evaluate.h). Every value goes
 * through jansson; moved out of jobs/evaluate.c. */
#include "evaluate/evaluate.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <svm.h>

/* results.json: every value goes through jansson; the line layout that readers and tests rely
 * on (one fold per line, the confusion matrix one row per line, "timing" on the last line) is kept.
 * Inline values are jansson's default form ("key": value, ", " between items); reals are printed
 * with 10 significant digits (as %.10g), integral values as integers (as %.10g printed them). */
#define EVAL_JSON_FLAGS (JSON_ENCODE_ANY | JSON_REAL_PRECISION(10))

static json_t *jnum(double v)
{
    if (!isfinite(v)) return json_null(); /* not a JSON number */
    if (v == floor(v) && fabs(v) < 1e10) return json_integer((json_int_t)v);
    return json_real(v);
}

/* s as a JSON string (jansson takes UTF-8 only: in a string that is not valid UTF-8, every byte
 * above 0x7f becomes '?') */
static json_t *jstr(const char *s)
{
    if (!s) return json_null();
    json_t *v = json_string(s);
    if (v) return v;
    char *t = strdup(s);
    if (!t) return NULL;
    for (unsigned char *p = (unsigned char *)t; *p; p++)
        if (*p >= 0x80) *p = '?';
    v = json_string(t);
    free(t);
    return v;
}

static json_t *jdarr(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, jnum(v[i]));
    return a;
}

/* "%016llx" */
static json_t *jhash(uint64_t h)
{
    char s[17];
    snprintf(s, sizeof s, "%016llx", (unsigned long long)h);
    return json_string(s);
}

/* writes v and releases it (NULL: null) */
static void jput(FILE *f, json_t *v)
{
    if (v) json_dumpf(v, f, EVAL_JSON_FLAGS);
    else fputs("null", f);
    json_decref(v);
}

/* the members of object o inline, without braces ("a": 1, "b": [2]), and releases o */
static void jmembers(FILE *f, json_t *o)
{
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(o, k, v) {
        if (!first) fputs(", ", f);
        first = 0;
        json_t *key = json_string(k);
        jput(f, key);
        fputs(": ", f);
        json_dumpf(v, f, EVAL_JSON_FLAGS);
    }
    json_decref(o);
}

/* "key": v as one member line of a broken-up object: indent, the member, "," unless last */
static void jline(FILE *f, const char *indent, const char *key, json_t *v, int last)
{
    json_t *o = json_object();
    json_object_set_new(o, key, v ? v : json_null());
    fputs(indent, f);
    jmembers(f, o);
    fputs(last ? "\n" : ",\n", f);
}

/* per-class precision, recall, F1 and the confusion matrix of a fold or of all folds:
 *   "precision": [...], "recall": [...], "f1": [...],
 *   <indent>"confusion": [
 *   <indent>  [row], ...
 *   <indent>] */
static void json_prf(FILE *f, const double *pr, const double *re, const double *f1, const long *conf, int L,
                     const char *indent)
{
    json_t *o = json_object();
    json_object_set_new(o, "precision", jdarr(pr, L));
    json_object_set_new(o, "recall", jdarr(re, L));
    json_object_set_new(o, "f1", jdarr(f1, L));
    jmembers(f, o);
    fprintf(f, ",\n%s\"confusion\": [", indent);
    for (int t = 0; t < L; t++) {
        json_t *row = json_array();
        for (int p = 0; p < L; p++) json_array_append_new(row, json_integer(conf[(size_t)t * L + p]));
        fprintf(f, "%s\n%s  ", t ? "," : "", indent);
        jput(f, row);
    }
    fprintf(f, "\n%s]", indent);
}

int eval_write_results(const eval_report *r, const eval_data *e, const reduce_svm_cv *cv, char *err, size_t errlen)
{
    const reduce_svm_grid *grid = &cv->grid;
    const reduce_svm_kernel kernel = cv->params.kernel;
    int L = e->classes.n, K = e->k, cells = grid->n_c * grid->n_g;
    int rc = UTIL_OK;
    long *conf = malloc((size_t)L * L * sizeof *conf);
    double *pr = malloc((size_t)L * sizeof *pr), *re = malloc((size_t)L * sizeof *re), *f1 = malloc((size_t)L * sizeof *f1);
    double *acc = malloc((size_t)K * sizeof *acc);
    uint64_t hf = 0, hl = 0;
    util_file_hash(r->features, &hf, NULL, 0);
    if (r->lda) util_file_hash(r->lda, &hl, NULL, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/results.json", r->out);
    FILE *j = fopen(path, "w");
    if (!j) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: %s", path, strerror(errno));
    } else {
        fputs("{\n", j);
        jline(j, "  ", "artistnet_version", json_string(ARTISTNET_VERSION), 0);
        jline(j, "  ", "command_line", jstr(r->cmdline), 0);
        fputs("  \"inputs\": {\n", j);
        jline(j, "    ", "features", json_pack("{s:o,s:o}", "path", jstr(r->features), "fnv1a64", jhash(hf)), 0);
        jline(j, "    ", "lda",
              r->lda ? json_pack("{s:o,s:o,s:i}", "path", jstr(r->lda), "fnv1a64", jhash(hl), "dim", r->lda_dim)
                       : json_null(),
              0);
        fputs("    \"feature_sets\": [", j);
        for (int s = 0; s < r->n_sets; s++) {
            uint64_t hs = 0, hls = 0;
            util_file_hash(r->set_path[s], &hs, NULL, 0);
            if (r->set_lda[s]) util_file_hash(r->set_lda[s], &hls, NULL, 0);
            fprintf(j, "%s\n      ", s ? "," : "");
            jput(j, json_pack("{s:o,s:o,s:i,s:o}", "path", jstr(r->set_path[s]), "fnv1a64", jhash(hs), "dim", r->set_dim[s], "lda",
                              r->set_lda[s] ? json_pack("{s:o,s:o}", "path", jstr(r->set_lda[s]), "fnv1a64", jhash(hls))
                                         : json_null()));
        }
        fputs("\n    ],\n", j);
        jline(j, "    ", "folds_file", jstr(r->folds_file), 1);
        fputs("  },\n", j);
        jline(j, "  ", "label_column", jstr(r->label), 0);
        jline(j, "  ", "artist_column", e->artist ? jstr(r->artist_col) : json_null(), 0);
        jline(j, "  ", "fold_source", jstr(e->fold_source), 0);
        jline(j, "  ", "folds", json_integer(K), 0);
        jline(j, "  ", "inner_folds", json_integer(e->n_inner), 0);
        jline(j, "  ", "seed", json_integer(r->seed), 0);
        jline(j, "  ", "kernel", jstr(r->kernel), 0);
        jline(j, "  ", "grid",
              json_pack("{s:o,s:o}", "C", jdarr(grid->c, grid->n_c), "gamma",
                        jdarr(grid->g, kernel == REDUCE_SVM_RBF ? grid->n_g : 0)),
              0);
        jline(j, "  ", "libsvm",
              json_pack("{s:i,s:o,s:o,s:b,s:s,s:s}", "version", LIBSVM_VERSION, "eps", jnum(cv->params.eps), "cache_mb",
                        jnum(cv->params.cache_mb), "shrinking", cv->params.shrinking ? 1 : 0, "kernel_matrix",
                        cv->precomputed ? "precomputed" : "libsvm", "standardise", "training side"),
              0);
        jline(j, "  ", "rows",
              json_pack("{s:I,s:I,s:I,s:I}", "in_file", (json_int_t)r->rows_in_file, "used", (json_int_t)e->n, "skipped_status",
                        (json_int_t)r->skipped, "skipped_not_in_every_set", (json_int_t)r->unmatched),
              0);
        json_t *classes = json_array();
        for (int c = 0; c < L; c++) json_array_append_new(classes, jstr(e->classes.names[c]));
        jline(j, "  ", "classes", classes, 0);
        fputs("  \"per_fold\": [", j);
        double mean = 0;
        for (int q = 0; q < K; q++) {
            long m = reduce_svm_confusion(e->y, cv->pred, e->fold, e->n, q, L, conf);
            long ok = 0;
            for (int c = 0; c < L; c++) ok += conf[(size_t)c * L + c];
            acc[q] = m ? (double)ok / (double)m : 0;
            mean += acc[q] / K;
            reduce_svm_prf(conf, L, pr, re, f1);
            int cell = cv->best[q];
            fprintf(j, "%s\n    {", q ? "," : "");
            jmembers(j, json_pack("{s:i,s:I,s:I,s:o,s:o,s:o,s:o,s:i}", "fold", q + 1, "n_train", (json_int_t)(e->n - m),
                                  "n_test", (json_int_t)m, "accuracy", jnum(acc[q]), "C", jnum(grid->c[cell / grid->n_g]),
                                  "gamma", kernel == REDUCE_SVM_RBF ? jnum(grid->g[cell % grid->n_g]) : json_null(),
                                  "inner_accuracy", jnum(cv->inner_acc[(size_t)q * cells + cell]), "n_sv", cv->n_sv[q]));
            fputs(",\n      ", j);
            jmembers(j, json_pack("{s:o}", "grid_inner_accuracy", jdarr(cv->inner_acc + (size_t)q * cells, cells)));
            fputs(",\n      ", j);
            json_prf(j, pr, re, f1, conf, L, "      ");
            fputs("}", j);
        }
        double var = 0;
        for (int q = 0; q < K; q++) var += (acc[q] - mean) * (acc[q] - mean);
        double sd = K > 1 ? sqrt(var / (K - 1)) : 0;
        reduce_svm_confusion(e->y, cv->pred, e->fold, e->n, -1, L, conf);
        reduce_svm_prf(conf, L, pr, re, f1);
        double macro = 0;
        for (int c = 0; c < L; c++) macro += f1[c] / L;
        fputs("\n  ],\n", j);
        jline(j, "  ", "accuracy_mean", jnum(mean), 0);
        jline(j, "  ", "accuracy_std", jnum(sd), 0);
        fputs("  \"overall\": {", j);
        jmembers(j, json_pack("{s:o}", "macro_f1", jnum(macro)));
        fputs(", ", j);
        json_prf(j, pr, re, f1, conf, L, "    ");
        fputs("},\n", j);
        /* timing: %.3f as before (a real with 3 decimals, not 10 digits) */
        json_t *timing = json_pack("{s:i,s:o,s:o,s:o}", "ranks", r->ranks, "seconds_total", json_real(round(r->seconds_total * 1e3) / 1e3),
                                   "seconds_grid", json_real(round(cv->seconds_grid * 1e3) / 1e3), "seconds_final",
                                   json_real(round(cv->seconds_final * 1e3) / 1e3));
        jline(j, "  ", "timing", timing, 1);
        fputs("}\n", j);
        if (fclose(j)) rc = util_fail(err, errlen, UTIL_EFAIL, "%s: write failed", path);

        if (!r->quiet) {
            printf("evaluate: %s, /%s, %d classes, %ld rows (%ld skipped), %s kernel, %d-d%s, folds from %s\n", r->features, r->label,
                   L, e->n, r->skipped + r->unmatched, r->kernel, e->d, r->lda ? " (LDA)" : "", e->fold_source);
            for (int s = 1; s < r->n_sets; s++)
                printf("evaluate: + %s%s: %d-d, matched by id (%ld ok rows of %s not ok in every set)\n", r->set_path[s],
                       r->set_lda[s] ? " (LDA)" : "", r->set_dim[s], r->unmatched, r->features);
            printf("%-5s %8s %7s %10s %10s %10s %9s\n", "fold", "n_train", "n_test", "C", "gamma", "inner_acc", "accuracy");
            for (int q = 0; q < K; q++) {
                int cell = cv->best[q];
                long m = 0;
                for (long i = 0; i < e->n; i++) m += e->fold[i] == q;
                printf("%-5d %8ld %7ld %10.4g ", q + 1, e->n - m, m, grid->c[cell / grid->n_g]);
                if (kernel == REDUCE_SVM_RBF) printf("%10.4g ", grid->g[cell % grid->n_g]);
                else printf("%10s ", "-");
                printf("%10.4f %9.4f\n", cv->inner_acc[(size_t)q * cells + cell], acc[q]);
            }
            printf("accuracy %.4f +- %.4f (mean +- std over %d folds), macro F1 %.4f\n", mean, sd, K, macro);
            printf("%-24s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support");
            for (int c = 0; c < L; c++) {
                long sup = 0;
                for (int p = 0; p < L; p++) sup += conf[(size_t)c * L + p];
                printf("%-24.24s %9.4f %9.4f %9.4f %8ld\n", e->classes.names[c], pr[c], re[c], f1[c], sup);
            }
            printf("grid %.2f s, final fits %.2f s on %d rank%s; wrote %s/results.json, predictions.tsv, folds.tsv, fits.tsv\n",
                   cv->seconds_grid, cv->seconds_final, r->ranks, r->ranks > 1 ? "s" : "", r->out);
        }
    }
    free(conf);
    free(pr);
    free(re);
    free(f1);
    free(acc);
    return rc;
}
