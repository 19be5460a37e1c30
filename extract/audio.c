/* audio.c - decode any format libsndfile reads (WAV, FLAC, Ogg Vorbis, Opus, MP3, ...), downmix to
 * mono as the mean of the channels, resample to the target rate with libsoxr (streaming), float
 * samples. Two resamplers (extract.h): soxr-hq (SOXR_HQ) and kaiser-best (soxr's quality spec set to
 * the response of resampy's kaiser_best filter, and resampy's output length). The file is read in blocks of EXTRACT_AUDIO_BLOCK frames, so memory is the output
 * plus a few blocks. Every failure is a per-track error (UTIL_ETRACK) whose message starts with the
 * file name: missing/unreadable file, not audio, zero length, absurd sample rate or channel count,
 * decode error or truncated data (fewer frames than the header declares), non-finite samples, longer
 * than EXTRACT_MAX_SECONDS. extract_audio_load_timed (prefetch.h) also splits the time into decoding
 * (open, read, downmix, checks) and soxr resampling, for the jobs' per-stage timers. */
#include "extract/extract.h"
#include "extract/prefetch.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXTRACT_AUDIO_BLOCK 65536

/* sf_open's failure reason (sf_strerror(NULL)) is one global of libsndfile, which any other
 * thread's sf_open overwrites ("No Error."): opens are serialized so that the message of a failed
 * open, which is data (/errors), does not depend on the prefetch threads. Reads run in parallel. */
static pthread_mutex_t sf_open_lock = PTHREAD_MUTEX_INITIALIZER;

/* grow *buf to hold at least need floats */
static int reserve(float **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 65536;
    while (c < need) c *= 2;
    float *p = realloc(*buf, c * sizeof(float));
    if (!p) return -1;
    *buf = p;
    *cap = c;
    return 0;
}

/* mono[i] = mean of frame i's channels, as the per-frame sum ((0 + x0) + x1 + ...) * (1 / ch) (for one
 * channel 0 + x0: the same bits as the general formula), in loops the compiler vectorizes. */
static void downmix(const float *buf, size_t n, int ch, float *mono)
{
    const float inv = 1.0f / (float)ch;
    if (ch == 1) {
        for (size_t i = 0; i < n; i++) mono[i] = 0.0f + buf[i];
    } else if (ch == 2) {
        for (size_t i = 0; i < n; i++) mono[i] = ((0.0f + buf[2 * i]) + buf[2 * i + 1]) * inv;
    } else {
        for (size_t i = 0; i < n; i++) mono[i] = 0.0f;
        for (int c = 0; c < ch; c++)
            for (size_t i = 0; i < n; i++) mono[i] += buf[i * (size_t)ch + (size_t)c];
        for (size_t i = 0; i < n; i++) mono[i] *= inv;
    }
}

/* index of the first NaN or Inf in x[0..n), n if none: an OR over the exponent bits first (vectorizes) */
static size_t first_nonfinite(const float *x, size_t n)
{
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof b);
        any |= (b & 0x7f800000u) == 0x7f800000u;
    }
    if (!any) return n;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return n;
}

/* RIFF WAV: 1 when the data chunk's size claims more bytes than the file holds (libsndfile quietly
 * shortens such files to what is present). Streaming writers put 0 or 0xFFFFFFFF there: not checked. */
static int wav_data_truncated(const char *path, long long file_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char h[12], c[8];
    int bad = 0;
    if (fread(h, 1, 12, f) == 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) {
        long long off = 12;
        while (fread(c, 1, 8, f) == 8) {
            unsigned long long sz = c[4] | (unsigned)c[5] << 8 | (unsigned)c[6] << 16 | (unsigned long long)c[7] << 24;
            if (!memcmp(c, "data", 4)) {
                bad = sz != 0 && sz != 0xFFFFFFFFULL && off + 8 + (long long)sz > file_size;
                break;
            }
            off += 8 + (long long)sz + (sz & 1);
            if (off >= file_size || fseek(f, off, SEEK_SET) != 0) break;
        }
    }
    fclose(f);
    return bad;
}

/* MP3 (and other compressed formats) report an estimated length; only formats whose header states
 * an exact frame count are checked for truncation exactly. MP3 lengths come from the LAME/Xing tag
 * when there is one, else from the file size: a decode 10% short of it counts as truncated. */
static int length_is_exact(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: case SF_FORMAT_AIFF: case SF_FORMAT_AU: case SF_FORMAT_W64: case SF_FORMAT_RF64:
    case SF_FORMAT_CAF: case SF_FORMAT_FLAC:
        return 1;
    default:
        return 0;
    }
}

const char *extract_resampler_name(extract_resampler r)
{
    return r == EXTRACT_RESAMPLER_KAISER_BEST ? "kaiser-best" : "soxr-hq";
}

int extract_resampler_parse(const char *name, extract_resampler *r)
{
    if (!strcmp(name, "soxr-hq")) *r = EXTRACT_RESAMPLER_SOXR_HQ;
    else if (!strcmp(name, "kaiser-best")) *r = EXTRACT_RESAMPLER_KAISER_BEST;
    else return -1;
    return 0;
}

int extract_resampler_recorded(const char *value, const char *path, extract_resampler *r, char *err, size_t errlen)
{
    *r = EXTRACT_RESAMPLER_SOXR_HQ;
    if (!value) return UTIL_OK; /* an older file: soxr-hq */
    if (extract_resampler_parse(value, r))
        return util_fail(err, errlen, UTIL_EINPUT, "%s: attribute resampler = '%s', not one of %s", path, value,
                         EXTRACT_RESAMPLER_NAMES);
    return UTIL_OK;
}

/* soxr's quality spec of a resampler. kaiser-best: resampy's kaiser_best is a Kaiser-windowed sinc
 * with beta 12.9846 and its -6 dB point at rolloff 0.917347 of the output Nyquist, 50 zero crossings
 * each side; soxr designs Kaiser-windowed sincs from (precision, passband end, stopband begin): 20 bits
 * give 126.4 dB attenuation, i.e. Kaiser beta 0.1102 (126.4 - 8.7) = 12.97, and a transition from
 * 0.835 to 1.0 of the output Nyquist puts the -6 dB point at 10.1 kHz. Chosen by measuring gains of
 * sines 8-11 kHz against python3-resampy 0.4.2 (44.1 and 48 kHz in): within 0.9 / 1.7 dB wherever
 * resampy passes more than -40 dB (SOXR_HQ: 23 dB off), then the authors' net on the result
 * (tests/reference/frontend_reference.py; README "Which resampler: which librosa"). */
static soxr_quality_spec_t resampler_spec(extract_resampler rs)
{
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    if (rs == EXTRACT_RESAMPLER_KAISER_BEST) {
        q.precision = 20;
        q.passband_end = 0.835;
        q.stopband_begin = 1.0;
        q.phase_response = 50; /* linear, as a symmetric sinc */
    }
    return q;
}

int extract_audio_load(const char *path, int sr_out, float **out, size_t *n, double *src_seconds,
                       char *err, size_t errlen)
{
    return extract_audio_load_timed(path, sr_out, EXTRACT_RESAMPLER_DEFAULT, out, n, src_seconds, NULL, err, errlen);
}

int extract_audio_load_rs(const char *path, int sr_out, extract_resampler rs, float **out, size_t *n,
                          double *src_seconds, char *err, size_t errlen)
{
    return extract_audio_load_timed(path, sr_out, rs, out, n, src_seconds, NULL, err, errlen);
}

int extract_audio_load_timed(const char *path, int sr_out, extract_resampler rs, float **out, size_t *n,
                             double *src_seconds, extract_audio_times *times, char *err, size_t errlen)
{
    const double t_start = util_now();
    double t_rs = 0; /* inside soxr: the rest of the time is decoding (open, read, downmix, checks) */
    *out = NULL;
    *n = 0;
    if (src_seconds) *src_seconds = 0;
    if (sr_out < 1000 || sr_out > 768000)
        return util_fail(err, errlen, UTIL_EFAIL, "%s: bad output sample rate %d", path, sr_out);
    struct stat st;
    if (stat(path, &st) != 0)
        return util_fail(err, errlen, UTIL_ETRACK, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return util_fail(err, errlen, UTIL_ETRACK, "%s: is a directory, not audio", path);
    if (st.st_size == 0) return util_fail(err, errlen, UTIL_ETRACK, "%s: empty file (0 bytes)", path);

    SF_INFO info;
    memset(&info, 0, sizeof info);
    pthread_mutex_lock(&sf_open_lock);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) util_fail(err, errlen, UTIL_ETRACK, "%s: not a readable audio file (libsndfile: %s)", path, sf_strerror(NULL));
    pthread_mutex_unlock(&sf_open_lock);
    if (!sf) return UTIL_ETRACK;
    int rc = UTIL_OK;
    float *buf = NULL, *mono = NULL;
    size_t cap = 0, len = 0;
    soxr_t sx = NULL;
    sf_count_t got_total = 0;
    if (info.samplerate < 1000 || info.samplerate > 768000) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: unsupported sample rate %d Hz (need 1000..768000)", path,
                       info.samplerate);
        goto done;
    }
    if (info.channels < 1 || info.channels > 1024) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: unsupported channel count %d", path, info.channels);
        goto done;
    }
    if (info.frames == 0) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: zero length (no audio samples)", path);
        goto done;
    }
    const sf_count_t max_frames = (sf_count_t)EXTRACT_MAX_SECONDS * info.samplerate;
    if (info.frames > max_frames && info.frames != SF_COUNT_MAX) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: too long (%.0f s; limit %d s)", path,
                       (double)info.frames / info.samplerate, EXTRACT_MAX_SECONDS);
        goto done;
    }
    const int ch = info.channels;
    const int resample = info.samplerate != sr_out;
    const double ratio = (double)sr_out / info.samplerate;
    buf = malloc((size_t)EXTRACT_AUDIO_BLOCK * ch * sizeof(float));
    mono = malloc((size_t)EXTRACT_AUDIO_BLOCK * sizeof(float));
    if (!buf || !mono) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory", path);
        goto done;
    }
    if (resample) {
        soxr_error_t se = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = resampler_spec(rs);
        sx = soxr_create(info.samplerate, sr_out, 1, &se, &io, &q, NULL);
        if (!sx || se) {
            rc = util_fail(err, errlen, UTIL_EFAIL, "%s: soxr_create(%d -> %d Hz): %s", path, info.samplerate,
                           sr_out, se ? se : "failed");
            goto done;
        }
    }
    if (info.frames != SF_COUNT_MAX &&
        reserve(out, &cap, (size_t)((double)info.frames * (resample ? ratio : 1.0)) + 1024) != 0) {
        rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory for %lld frames", path, (long long)info.frames);
        goto done;
    }
    for (;;) {
        sf_count_t got = sf_readf_float(sf, buf, EXTRACT_AUDIO_BLOCK);
        if (got <= 0) break;
        if (got_total + got > max_frames) {
            rc = util_fail(err, errlen, UTIL_ETRACK, "%s: too long (more than %d s)", path, EXTRACT_MAX_SECONDS);
            goto done;
        }
        downmix(buf, (size_t)got, ch, mono);
        const size_t bad = first_nonfinite(mono, (size_t)got);
        if (bad < (size_t)got) {
            rc = util_fail(err, errlen, UTIL_ETRACK, "%s: non-finite sample (%s) at frame %lld", path,
                           isnan(mono[bad]) ? "NaN" : "Inf", (long long)(got_total + (sf_count_t)bad));
            goto done;
        }
        got_total += got;
        if (!resample) {
            if (reserve(out, &cap, len + (size_t)got) != 0) goto oom;
            memcpy(*out + len, mono, (size_t)got * sizeof(float));
            len += (size_t)got;
        } else {
            size_t room = (size_t)((double)got * ratio) + 256, odone = 0;
            if (reserve(out, &cap, len + room) != 0) goto oom;
            double t0 = util_now();
            soxr_error_t se = soxr_process(sx, mono, (size_t)got, NULL, *out + len, room, &odone);
            t_rs += util_now() - t0;
            if (se) {
                rc = util_fail(err, errlen, UTIL_EFAIL, "%s: soxr_process: %s", path, se);
                goto done;
            }
            len += odone;
        }
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: decode error after %lld frames: %s", path,
                       (long long)got_total, sf_strerror(sf));
        goto done;
    }
    if (got_total == 0) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: zero length (no audio samples decoded)", path);
        goto done;
    }
    if ((length_is_exact(info.format) && got_total < info.frames) ||
        ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG && info.frames != SF_COUNT_MAX &&
         (double)got_total < 0.9 * (double)info.frames)) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: truncated: header declares %lld frames, only %lld decoded",
                       path, (long long)info.frames, (long long)got_total);
        goto done;
    }
    if ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV && wav_data_truncated(path, (long long)st.st_size)) {
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: truncated: the WAV header declares more data than the file holds",
                       path);
        goto done;
    }
    if (resample) { /* flush the resampler's tail */
        for (;;) {
            size_t room = 4096, odone = 0;
            if (reserve(out, &cap, len + room) != 0) goto oom;
            double t0 = util_now();
            soxr_error_t se = soxr_process(sx, NULL, 0, NULL, *out + len, room, &odone);
            t_rs += util_now() - t0;
            if (se) {
                rc = util_fail(err, errlen, UTIL_EFAIL, "%s: soxr_process (flush): %s", path, se);
                goto done;
            }
            len += odone;
            if (odone == 0) break;
        }
    }
    if (resample && rs == EXTRACT_RESAMPLER_KAISER_BEST) { /* resampy's length: floor(n * sr_out / sr_in) */
        const size_t want = (size_t)((unsigned long long)got_total * (unsigned long long)sr_out / (unsigned)info.samplerate);
        if (len > want) len = want;
    }
    if (len == 0) { /* one sample at 65,535 Hz resamples to none (found by tests/fuzz) */
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: too short: %lld frames at %d Hz give no sample at %d Hz", path,
                       (long long)got_total, info.samplerate, sr_out);
        goto done;
    }
    if (resample && first_nonfinite(*out, len) < len) { /* soxr turns huge finite samples into Inf (tests/fuzz) */
        rc = util_fail(err, errlen, UTIL_ETRACK, "%s: non-finite sample after resampling (samples too large)", path);
        goto done;
    }
    *n = len;
    if (src_seconds) *src_seconds = (double)got_total / info.samplerate;
    goto done;
oom:
    rc = util_fail(err, errlen, UTIL_EFAIL, "%s: out of memory after %lld frames", path, (long long)got_total);
done:
    if (sx) soxr_delete(sx);
    sf_close(sf);
    free(buf);
    free(mono);
    if (times) {
        times->resample += t_rs;
        times->decode += util_now() - t_start - t_rs;
    }
    if (rc != UTIL_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
