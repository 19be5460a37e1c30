/* bench_featx_decode.c - the peer of the extract benchmark (bench/bench_featx.sh): decode-only
 * throughput of the files of a track list, in one process, measured in the same run as
 * `artistnet extract` on the same files. Two figures:
 *   decode      libsndfile sf_readf_float over the whole file (what any tool must pay), no resampling;
 *   decode+rs   extract_audio_load: decode + downmix + soxr HQ resampling to 22,050 Hz.
 * usage: bench_featx_decode LIST [repeats]    prints "decode_tracks_per_s X" lines for the script. */
#include "extract/extract.h"
#include "shard/shard.h"
#include "util/util.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

static double decode_only(const char *path, float *buf, size_t frames_per_read)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) return -1;
    double total = 0;
    sf_count_t got;
    while ((got = sf_readf_float(sf, buf, (sf_count_t)frames_per_read)) > 0) total += (double)got;
    sf_close(sf);
    return total / info.samplerate;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_featx_decode LIST [repeats]\n");
        return 2;
    }
    char err[UTIL_ERRLEN];
    shard_list l;
    if (shard_list_load(argv[1], &l, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 1;
    const size_t block = 65536;
    float *buf = malloc(block * 8 * sizeof *buf);
    double best_dec = 1e30, best_rs = 1e30, secs = 0;
    for (int r = 0; r < reps; r++) {
        double t = util_now();
        secs = 0;
        for (size_t i = 0; i < l.n; i++) {
            double s = decode_only(l.paths[i], buf, block / 8);
            if (s < 0) {
                fprintf(stderr, "%s: cannot decode\n", l.paths[i]);
                return 1;
            }
            secs += s;
        }
        t = util_now() - t;
        if (t < best_dec) best_dec = t;
        t = util_now();
        for (size_t i = 0; i < l.n; i++) {
            float *x = NULL;
            size_t n = 0;
            if (extract_audio_load(l.paths[i], EXTRACT_SR, &x, &n, NULL, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            free(x);
        }
        t = util_now() - t;
        if (t < best_rs) best_rs = t;
    }
    printf("decode_tracks_per_s %.3f\n", l.n / best_dec);
    printf("decode_resample_tracks_per_s %.3f\n", l.n / best_rs);
    printf("audio_seconds %.1f\n", secs);
    free(buf);
    shard_list_free(&l);
    return 0;
}
