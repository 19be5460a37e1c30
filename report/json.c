/* report_json.c - a small recursive-descent JSON reader (RFC 8259) building a DOM, enough for the
 * results.json files that `artistnet evaluate` writes. Strings are decoded to UTF-8 (\uXXXX with
 * surrogate pairs); numbers go through strtod; nesting is limited to 64 levels. */
#include "report/report_internal.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s, *p, *name;
    char *err;
    size_t errlen;
    int depth;
} jp;

static int jp_fail(jp *j, const char *what)
{
    int line = 1;
    for (const char *q = j->s; q < j->p; q++) line += *q == '\n';
    return util_fail(j->err, j->errlen, UTIL_EINPUT, "%s:%d: JSON: %s", j->name, line, what);
}

static void ws(jp *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r') j->p++;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 63)), o[2] = (char)(0x80 | (cp & 63)), 3;
    o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 63)), o[2] = (char)(0x80 | ((cp >> 6) & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

static int parse_string(jp *j, char **out)
{
    j->p++; /* opening quote */
    const char *start = j->p;
    size_t cap = 1;
    while (*j->p && *j->p != '"') { /* upper bound of the decoded length */
        if (*j->p == '\\' && j->p[1]) j->p++;
        j->p++;
        cap++;
    }
    if (*j->p != '"') return jp_fail(j, "unterminated string");
    char *o = malloc(cap * 4), *w = o;
    if (!o) return jp_fail(j, "out of memory");
    for (const char *q = start; q < j->p; q++) {
        if ((unsigned char)*q < 0x20) {
            free(o);
            j->p = q;
            return jp_fail(j, "control character in string");
        }
        if (*q != '\\') {
            *w++ = *q;
            continue;
        }
        q++;
        switch (*q) {
        case '"': case '\\': case '/': *w++ = *q; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(q + 1, &cp)) goto bad;
            q += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && q[1] == '\\' && q[2] == 'u' && !hex4(q + 3, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            w += put_utf8(w, cp);
            break;
        }
        default:
        bad:
            free(o);
            j->p = q;
            return jp_fail(j, "bad escape in string");
        }
    }
    *w = 0;
    j->p++;
    *out = o;
    return 0;
}

static int parse_value(jp *j, report_json *v);

static int push(jp *j, report_json *v, int is_obj, char *key)
{
    if ((v->n & (v->n - 1)) == 0) { /* grow at powers of two */
        size_t cap = v->n ? (size_t)v->n * 2 : 4;
        report_json *it = realloc(v->items, cap * sizeof *it);
        if (it) v->items = it;
        char **k = is_obj ? realloc(v->keys, cap * sizeof *k) : NULL;
        if (k) v->keys = k;
        if (!it || (is_obj && !k)) {
            free(key);
            return jp_fail(j, "out of memory");
        }
    }
    memset(&v->items[v->n], 0, sizeof v->items[0]);
    if (is_obj) v->keys[v->n] = key;
    v->n++;
    return parse_value(j, &v->items[v->n - 1]);
}

static int parse_value(jp *j, report_json *v)
{
    memset(v, 0, sizeof *v);
    ws(j);
    if (++j->depth > 64) return jp_fail(j, "nested too deeply");
    int rc = 0;
    char c = *j->p;
    if (c == '{' || c == '[') {
        int obj = c == '{';
        v->type = obj ? REPORT_JSON_OBJ : REPORT_JSON_ARR;
        j->p++;
        ws(j);
        if (*j->p == (obj ? '}' : ']')) {
            j->p++;
        } else {
            for (;;) {
                char *key = NULL;
                if (obj) {
                    ws(j);
                    if (*j->p != '"') { rc = jp_fail(j, "expected a key string"); break; }
                    if ((rc = parse_string(j, &key))) break;
                    ws(j);
                    if (*j->p != ':') { free(key); rc = jp_fail(j, "expected ':'"); break; }
                    j->p++;
                }
                if ((rc = push(j, v, obj, key))) break;
                ws(j);
                if (*j->p == ',') { j->p++; continue; }
                if (*j->p == (obj ? '}' : ']')) { j->p++; break; }
                rc = jp_fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
                break;
            }
        }
    } else if (c == '"') {
        v->type = REPORT_JSON_STR;
        rc = parse_string(j, &v->str);
    } else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
        v->type = REPORT_JSON_BOOL;
        v->num = c == 't';
        j->p += c == 't' ? 4 : 5;
    } else if (!strncmp(j->p, "null", 4)) {
        v->type = REPORT_JSON_NULL;
        j->p += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char *end;
        errno = 0;
        v->type = REPORT_JSON_NUM;
        v->num = strtod(j->p, &end);
        if (end == j->p) rc = jp_fail(j, "bad number");
        j->p = end;
    } else {
        rc = jp_fail(j, c ? "unexpected character" : "unexpected end of text");
    }
    j->depth--;
    return rc;
}

int report_json_parse(const char *text, const char *name, report_json *out, char *err, size_t errlen)
{
    jp j = {text, text, name ? name : "json", err, errlen, 0};
    int rc = parse_value(&j, out);
    if (!rc) {
        ws(&j);
        if (*j.p) rc = jp_fail(&j, "text after the value");
    }
    if (rc) {
        report_json_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int report_json_load(const char *path, report_json *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return util_fail(err, errlen, UTIL_EINPUT, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    for (size_t got; s && (got = fread(s + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    }
    fclose(f);
    if (!s) return util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
    s[n] = 0;
    int rc = strlen(s) != n ? util_fail(err, errlen, UTIL_EINPUT, "%s: NUL byte in JSON", path)
                            : report_json_parse(s, path, out, err, errlen);
    free(s);
    return rc;
}

void report_json_free(report_json *v)
{
    if (!v) return;
    free(v->str);
    for (int i = 0; i < v->n; i++) {
        report_json_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

const report_json *report_json_get(const report_json *obj, const char *key)
{
    if (!obj || obj->type != REPORT_JSON_OBJ) return NULL;
    for (int i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

const report_json *report_json_at(const report_json *arr, int i)
{
    if (!arr || (arr->type != REPORT_JSON_ARR && arr->type != REPORT_JSON_OBJ) || i < 0 || i >= arr->n) return NULL;
    return &arr->items[i];
}

double report_json_num(const report_json *v, double def) { return v && v->type == REPORT_JSON_NUM ? v->num : def; }

const char *report_json_str(const report_json *v, const char *def) { return v && v->type == REPORT_JSON_STR ? v->str : def; }
