/* prefetch.h - decode ahead of compute: threads of a rank that decode + resample the next tracks
 * (extract_audio_load) while the caller computes log-mel and runs the net on the current ones.
 * Tracks are pushed in processing order and taken in the same order; at most `depth` decoded
 * tracks wait for the caller, plus one being decoded per thread, so memory stays bounded (a 30-s
 * clip is 2.6 MB of float samples). Results are exactly what extract_audio_load returns on the
 * caller's thread (same code, same libsndfile and soxr calls; tracks are independent, so neither the
 * thread that decodes one nor the thread count matters): outputs do not depend on prefetching.
 * Without threads (threads 0) take() decodes on the caller's thread: one code path for both.
 *
 * The threads call no MPI and block every signal (SIGTERM stays with the main thread, which polls
 * util_interrupted()). They only pay with a spare core: extract_prefetch_auto() says whether this
 * rank has one (its CPU affinity mask, shared with the other ranks of the node when unbound) and
 * how many threads to start. Decoding is most of a track's cost (MP3: ~70% decode, ~15% resample,
 * ~15% log-mel + net), so a rank with 2 CPUs runs 2 decode threads beside its main thread.
 *
 *   extract_prefetch *p; extract_prefetch_make(1, 1, &p, err, errlen);
 *   extract_prefetch_push(p, path_a, ...); extract_prefetch_push(p, path_b, ...);
 *   rc = extract_prefetch_take(p, &x, &n, &secs, msg, msglen);   (path_a; path_b decodes meanwhile)
 */
#ifndef ARTISTNET_EXTRACT_PREFETCH_H
#define ARTISTNET_EXTRACT_PREFETCH_H
#include "extract/extract.h"

#include <mpi.h>
#include <stddef.h>

/* Seconds spent decoding (open, read, downmix, checks) and resampling (soxr); accumulated (+=). */
typedef struct {
    double decode, resample;
} extract_audio_times;

/* extract_audio_load (extract.h) that also adds its decode and resample times to *times (may be NULL). */
int extract_audio_load_timed(const char *path, int sr_out, extract_resampler rs, float **out, size_t *n, double *src_seconds,
                             extract_audio_times *times, char *err, size_t errlen);

#define EXTRACT_PREFETCH_MAX_THREADS 64
/* auto: at most this many (the main thread's log-mel + net keep up with ~5 decode threads of MP3,
 * and each thread holds a whole decoded track: 350 MB for a 1-hour clip) */
#define EXTRACT_PREFETCH_AUTO_THREADS 4

typedef struct extract_prefetch extract_prefetch;

/* threads (0..EXTRACT_PREFETCH_MAX_THREADS): decode threads to start (0: take() decodes);
 * depth (>= 1): decoded tracks kept ready ahead of take(); rs: the resampler of every track. */
int extract_prefetch_make(int threads, int depth, extract_resampler rs, extract_prefetch **out, char *err,
                          size_t errlen);
/* Queue one track (path copied). */
int extract_prefetch_push(extract_prefetch *p, const char *path, char *err, size_t errlen);
/* The oldest queued track, as extract_audio_load_rs at EXTRACT_SR would return it: the same code, *x
 * (caller frees), *n, *seconds and msg. Blocks until it is decoded. UTIL_EFAIL with msg when
 * nothing is queued. */
int extract_prefetch_take(extract_prefetch *p, float **x, size_t *n, double *seconds, char *msg, size_t msglen);
/* tracks pushed and not taken yet */
size_t extract_prefetch_queued(const extract_prefetch *p);
/* Times so far: decode and resample (on whichever thread decoded), and *wait (may be NULL): the
 * caller's time blocked in take() waiting for the thread; 0 without a thread (take() decodes, and
 * that time is decode + resample). */
void extract_prefetch_times(const extract_prefetch *p, extract_audio_times *t, double *wait);
/* Stops the thread and drops tracks not taken. */
void extract_prefetch_free(extract_prefetch *p);

/* --prefetch option of the jobs: opt < 0 (auto): `depth` when this rank has a spare core (its
 * affinity mask holds >= 2 CPUs per rank of the node that share it), else 0; opt >= 0: opt.
 * threads (may be NULL): in, the --decode-threads option (<= 0: auto); out, the decode threads to
 * start: 0 when the returned depth is 0, else the option, or auto the rank's CPUs (at least 1, at
 * most EXTRACT_PREFETCH_AUTO_THREADS).
 * Collective over comm (the node's ranks are counted with MPI_Comm_split_type). */
int extract_prefetch_auto(MPI_Comm comm, int opt, int depth, int *threads);
#endif
