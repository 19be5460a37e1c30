/* nn.h - the DCNN of Park et al. (MIREX 2017, Table 1): forward, backward, Nesterov SGD, model.h5.
 *
 * Network (input: one raw log-mel segment, 128 mel bands x 129 frames, band-major exactly as
 * extract_track_segments() writes it; the model normalises it with its stored mean/std):
 *     conv1 128x4 -> BN -> ReLU -> maxpool 4   (129 -> 32 frames)
 *     conv2 128x4 -> BN -> ReLU -> maxpool 4   (32 -> 8)
 *     conv3 128x4 -> BN -> ReLU -> maxpool 4   (8 -> 2)
 *     conv4 128x2 -> BN -> ReLU -> maxpool 2   (2 -> 1)
 *     conv5 256x1 -> BN -> ReLU                = the 256-d feature
 *     dropout 0.5 (training only) -> dense 256 -> C -> softmax cross-entropy   (absent when C = 0)
 * Convolutions have biases and Keras "same" padding (kernel k: (k-1)/2 zeros left, k/2 right);
 * max-pooling is Keras "valid" (trailing frames that do not fill a window are dropped).
 *
 * Batch normalisation (Keras BatchNormalization(epsilon=1e-3, momentum=0.99) = PyTorch
 * BatchNorm1d(eps=1e-3, momentum=0.01)):
 *   training: y = gamma (z - mean_B) / sqrt(var_B + eps) + beta with the biased batch variance var_B,
 *             statistics over the segments x frames of one micro-batch (see below);
 *   running:  running_mean = 0.99 running_mean + 0.01 mean_B,
 *             running_var  = 0.99 running_var  + 0.01 var_B * n/(n-1)   (unbiased, as PyTorch;
 *             Keras 2.x uses n/(n-1-eps), a relative difference below 1e-6 at these n);
 *             no zero-debiasing. With several micro-batches in one step, mean_B and the unbiased
 *             var_B are averaged over the step's micro-batches and applied once in nn_update().
 *   eval:     running statistics.
 *
 * Data-parallel training whose result does not depend on the number of ranks:
 *   The global batch of a step is cut into micro-batches of a fixed size m (nn_train_opts.micro_batch);
 *   every micro-batch normalises with its own batch statistics ("ghost batch norm"). A rank calls
 *   nn_train_accumulate() on the consecutive micro-batches it owns (one call may hold several
 *   micro-batches: their GEMMs run together, their BN statistics stay separate). The gradient buffer
 *   accumulates the SUM over segments of the per-segment loss gradients, and its tail accumulates the
 *   micro-batch BN statistics and the segment / micro-batch counts. One MPI_Allreduce(SUM) of the
 *   whole flat buffer (nn_grads, all n_grads floats) then gives every rank the same totals, and
 *   nn_update() divides by the reduced segment count: the update equals the one of a single process
 *   running the same micro-batches (up to float summation order).
 *
 * Layout of the flat parameter buffer (float32, in this order; offsets from nn_tensor()):
 *   for conv l = 1..5: kernel (k, in, out) [Keras Conv1D layout], bias (out), gamma (out), beta (out)
 *   dense kernel (256, C) [Keras Dense layout], dense bias (C)                        (when C > 0)
 * BN running statistics (nn_bn_stats): for l = 1..5: moving_mean (out), moving_variance (out).
 * Gradients (nn_grads): same layout as the parameters, then the tail: for l = 1..5: sum of
 * micro-batch means (out), sum of micro-batch unbiased variances (out); then the number of
 * micro-batches; then the number of segments.
 *
 * Inference builds no im2col: each block's input is held zero-padded ("same" padding) for the whole
 * batch, so the im2col row of a frame is a contiguous slice of it and a conv is k accumulating SGEMMs
 * (K = in channels) straight on that buffer; BN (running statistics, conv bias folded in) + ReLU +
 * max-pool is one pass that writes the next block's padded input. The first block reads the
 * band-major segments as they are (copied with the normalisation into a padded channels-first
 * buffer, no transpose) and runs in chunks of 4 segments (env ARTISTNET_NN_CHUNK overrides) so its
 * input and conv output (0.27 MB each) stay in L2 (chunks of 4-12 measured equal with a 2 MB L2, 16
 * and more slower); blocks 2-5 run over up to 64 segments at once. About 1.2x the throughput of
 * the previous im2col + one SGEMM per chunk of 8 (bench_nn, one thread).
 * Work buffers are allocated for `max_batch` segments when the model is made and grown on demand.
 * One OpenBLAS thread (nn_blas_setup). A model is not thread-safe; use one per thread.
 * Errors: functions return 0 or a negative UTIL_E* code with a message in err (may be NULL).
 */
#ifndef ARTISTNET_NN_H
#define ARTISTNET_NN_H

#include <stddef.h>
#include <stdint.h>

#define NN_FORMAT_VERSION 1
#define NN_IN_CHANNELS 128 /* mel bands */
#define NN_IN_FRAMES 129
#define NN_SEG_SIZE (NN_IN_CHANNELS * NN_IN_FRAMES)
#define NN_FEATURE_DIM 256
#define NN_N_CONV 5
#define NN_BN_EPS 1e-3
#define NN_BN_MOMENTUM 0.99
#define NN_MAX_ARTIST_LEN 4096

typedef struct nn_model nn_model;

/* Front-end parameters a model expects (stored as model.h5 attributes). */
typedef struct {
    int sr, n_fft, hop, n_mels, segment_frames;
    double fmin, fmax;
    char spectrum[32];        /* "magnitude" */
    char mel_scale[32];       /* "slaney" (librosa htk=False) */
    char mel_norm[32];        /* "slaney" */
    char log_compression[32]; /* "log10(1+10*M)" */
    char resampler[32];       /* extract.h: "soxr-hq" (default; models written before it was recorded) or
                                 "kaiser-best" (the authors' librosa < 0.10, set by nn_keras_import) */
} nn_frontend;

/* The front end of extract/extract.h (DESIGN "Numerical contract"). */
nn_frontend nn_frontend_default(void);
/* 0 if `fe` equals the default front end but for the resampler, which must be one extract.h knows;
 * else UTIL_EINPUT naming the first difference. */
int nn_frontend_check(const nn_frontend *fe, const char *what, char *err, size_t errlen);

/* ---- model (model.c) ---- */
/* A model for n_classes artists (0: feature extractor only, no dense/softmax), with work buffers for
 * max_batch segments. Parameters are zero until nn_init() or nn_load(). */
int nn_make(int n_classes, int max_batch, nn_model **out, char *err, size_t errlen);
void nn_free(nn_model *m);
/* He-uniform conv kernels (limit sqrt(6 / (k in))), Glorot-uniform dense kernel, zero biases, gamma 1,
 * beta 0, running mean 0 / var 1, norm mean 0 / std 1; clears momentum, gradients and step. */
void nn_init(nn_model *m, uint64_t seed);

int nn_n_classes(const nn_model *m);
/* Flat buffers (see the layout above). *n gets the number of floats. */
float *nn_params(nn_model *m, size_t *n);
float *nn_grads(nn_model *m, size_t *n);     /* parameters' gradients + tail: reduce all of it */
float *nn_bn_stats(nn_model *m, size_t *n);
float *nn_momentum(nn_model *m, size_t *n);
long nn_step(const nn_model *m);
void nn_set_step(nn_model *m, long step);

/* Offsets into the flat buffers. layer 1..5 = conv blocks, 6 = dense. what: "kernel", "bias",
 * "gamma", "beta" (params), "moving_mean", "moving_variance" (bn stats). Returns the offset and sets
 * *n (0 and *n = 0 when absent). */
size_t nn_tensor(const nn_model *m, int layer, const char *what, size_t *n);
/* conv geometry of layer 1..5 */
void nn_conv_shape(int layer, int *k, int *in, int *out, int *frames_in, int *pool);

void nn_set_norm(nn_model *m, float mean, float std);
void nn_get_norm(const nn_model *m, float *mean, float *std);
float nn_bn_epsilon(const nn_model *m);
void nn_set_bn_epsilon(nn_model *m, float eps);
nn_frontend *nn_frontend_of(nn_model *m);
/* artist names in output order (n == n_classes); copied */
int nn_set_artists(nn_model *m, const char *const *names, int n, char *err, size_t errlen);
const char *nn_artist(const nn_model *m, int i);
/* free-text provenance stored as the `source` attribute (copied; NULL clears) */
void nn_set_source(nn_model *m, const char *source);
const char *nn_source(const nn_model *m);
/* Copies the conv blocks (weights, BN statistics), the normalisation, epsilon and front end from src
 * (fine-tuning from a pretrained or imported model; the dense layer of dst is left as it is). */
void nn_copy_features(nn_model *dst, const nn_model *src);

/* 64-bit FNV-1a over the parameters, the BN running statistics, norm mean/std and the class count
 * (everything that changes an output), for provenance attributes. */
uint64_t nn_checksum(const nn_model *m);

/* ---- inference (net.c): eval mode (running BN statistics, no dropout) ---- */
/* segs: n raw log-mel segments (NN_SEG_SIZE floats each, band-major (128, 129)); normalised inside.
 * feat: n x 256 floats. */
int nn_forward_features(nn_model *m, const float *segs, int n, float *feat, char *err, size_t errlen);
/* logits: n x C floats (softmax not applied). Needs C > 0. */
int nn_forward_logits(nn_model *m, const float *segs, int n, float *logits, char *err, size_t errlen);

/* ---- population batch-norm statistics ("precise BN", Wu & Johnson 2021; net.c) ----
 * Training normalises with micro-batch statistics and eval with the running averages, which after a
 * few hundred steps of momentum 0.99 still hold much of their initial values. Recalibrating sets each
 * layer's statistics to those of a sample in eval mode, layer by layer: nn_bn_layer_sums runs n
 * segments in eval mode through blocks 1..layer-1 (with their statistics as they are now) and the
 * conv of `layer` (1..5, bias included), and ADDS the per-channel sums of z and of z^2 over the
 * n x frames rows to sums[0..cout) and sums[cout..2 cout) (double, in row order: the same call on
 * the same segments gives the same bits). Sum the sample (in a fixed order), set the layer's
 * moving_mean / moving_variance (nn_bn_stats, nn_tensor), then go on with the next layer. */
int nn_bn_layer_sums(nn_model *m, int layer, const float *segs, int n, double *sums, char *err, size_t errlen);
/* The same recalibration without running blocks 1..layer-1 again for every layer (about 2 forward
 * passes of the sample instead of 4): keep each block's input. nn_bn_sums_at adds layer's sums as
 * nn_bn_layer_sums does, from `in` = the n raw segments (layer 1) or block `layer`'s input as
 * nn_bn_advance wrote it (layers 2..5; nn_bn_input_floats(m, layer) floats a segment); nn_bn_advance
 * runs block `layer` (1..4) in eval mode, with its statistics as they are now, on `in` (as above)
 * and writes block layer+1's input for the n segments to out. Call both on the same groups of
 * segments as nn_bn_layer_sums would be: the sums are its bits. */
size_t nn_bn_input_floats(const nn_model *m, int layer);
int nn_bn_sums_at(nn_model *m, int layer, const float *in, int n, double *sums, char *err, size_t errlen);
int nn_bn_advance(nn_model *m, int layer, const float *in, int n, float *out, char *err, size_t errlen);

/* ---- training (net.c, sgd.c) ---- */
typedef struct {
    int micro_batch;           /* BN statistics over groups of this many consecutive segments of the
                                  call (the last group may be smaller); 0 = the whole call */
    float dropout;             /* drop probability (0.5 in the paper; 0 = off) */
    uint64_t dropout_seed;     /* mask of segment i (0-based in this call), unit j: a hash of
                                  (seed, i, j); pass e.g. hash(step, index of the first segment) */
    const float *dropout_mask; /* optional n x 256 multipliers (0 or 1/(1-p)); overrides the above */
    void (*between_layers)(void *arg); /* optional: called after each conv layer's forward and backward
                                          (train moves its nonblocking segment exchange along there) */
    void *between_arg;
} nn_train_opts;

/* Training-mode forward + backward on n segments with labels in [0, C). ADDS to the gradient buffer
 * the sum over segments of d(cross-entropy)/d(params), and to its tail the micro-batch statistics
 * and counts. *loss_sum (may be NULL) gets the sum of the n losses. Needs C > 0. */
int nn_train_accumulate(nn_model *m, const float *segs, const int *labels, int n,
                        const nn_train_opts *opt, double *loss_sum, char *err, size_t errlen);
/* The n x C training-mode logits (softmax not applied) of the last nn_train_accumulate call: what
 * `train` counts its training accuracy on. Valid until the next call on m. */
const float *nn_train_logits(const nn_model *m);
/* Zeroes the gradient buffer including its tail (nn_update does it too). */
void nn_grads_zero(nn_model *m);

typedef struct {
    double lr;           /* learning rate (used when lr_schedule is NULL) */
    double momentum;     /* 0.9 */
    int nesterov;        /* 1: PyTorch's Nesterov form: v = mu v + g; w -= lr (g + mu v) */
    double weight_decay; /* L2 on conv kernels only: g += wd * w (Keras l2(1e-5) == wd 2e-5) */
    double (*lr_schedule)(long step, void *ctx); /* optional: lr for this step (0-based) */
    void *ctx;
} nn_sgd;

/* Keras's time decay: lr0 / (1 + decay * step). */
double nn_lr_time_decay(double lr0, double decay, long step);

/* One SGD step from the accumulated (and, in parallel, all-reduced) gradients: divides by the
 * segment count in the tail, adds weight decay, Nesterov momentum, updates BN running statistics
 * from the averaged micro-batch statistics, increments the step and zeroes the gradients.
 * UTIL_EFAIL when nothing was accumulated. */
int nn_update(nn_model *m, const nn_sgd *opt, char *err, size_t errlen);
/* nn_update in two parts, for an update sharded over ranks (each rank updates a slice of the
 * parameters from its slice of the reduced gradients, then the slices are gathered):
 * nn_update_params applies the SGD step to parameters [lo, hi) of nn_params (and their momentum)
 * from the same slice of the gradient buffer, dividing by the segment count in the tail (which must
 * hold the reduced tail); nn_update_finish updates the BN running statistics from the tail,
 * increments the step and zeroes the gradients. The step is elementwise, so any cut into slices gives
 * the parameters of one nn_update bitwise. UTIL_EFAIL when nothing was accumulated. */
int nn_update_params(nn_model *m, const nn_sgd *opt, size_t lo, size_t hi, char *err, size_t errlen);
void nn_update_finish(nn_model *m);

/* ---- model.h5 (model_io.c); serial HDF5, call from one rank ---- */
/* flags for nn_save */
#define NN_SAVE_OPTIMIZER 1 /* also /optimizer/momentum and its step (checkpoints) */
int nn_save(const nn_model *m, const char *path, int flags, char *err, size_t errlen);
/* Loads model.h5: checks the format version and every shape, names file + dataset on error
 * (UTIL_EINPUT). Restores the optimizer state when present. */
int nn_load(const char *path, int max_batch, nn_model **out, char *err, size_t errlen);

/* ---- Keras import (keras.c) ---- */
/* Reads the authors' Keras 2 HDF5 model (conv1d_1..5, batch_normalization_1..5 under
 * model_weights/, epsilon from model_config) into a new feature-extractor model (C = 0) with the
 * authors' normalisation (mean 0.22620339, std 0.25794547) and their front end's resampler,
 * "kaiser-best" (their librosa resampled with resampy's kaiser_best). UTIL_EINPUT naming file and dataset. */
#define NN_KERAS_NORM_MEAN 0.22620339f
#define NN_KERAS_NORM_STD 0.25794547f
int nn_keras_import(const char *path, int max_batch, nn_model **out, char *err, size_t errlen);

#endif
