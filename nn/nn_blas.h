/* nn_blas.h - kernel selection: OpenBLAS's kernel set, oneDNN or OpenBLAS for the convolutions (see blas.c). */
#ifndef ARTISTNET_NN_BLAS_H
#define ARTISTNET_NN_BLAS_H
/* Call first thing in main(): may re-exec the program with OPENBLAS_CORETYPE set. */
void nn_blas_setup(int argc, char **argv);
/* OpenBLAS's kernel set in use, e.g. "SkylakeX". */
const char *nn_blas_corename(void);
/* The better kernel set for this CPU when `current` is a generic fallback, else NULL. */
const char *nn_blas_better_core(const char *current);
/* Which library runs the k > 1 convolutions: chosen once from ARTISTNET_NN_KERNELS
 * (openblas|onednn|auto) and the CPU's instruction sets. */
enum { NN_KERNELS_OPENBLAS = 0, NN_KERNELS_ONEDNN = 1 };
int nn_kernels(void);
/* Benchmarks only: switch the choice (a model runs only under the choice it was made with:
 * nn_make allocates im2col buffers for OpenBLAS alone). */
void nn_kernels_force(int kind);
/* The kernels in use, in words, e.g. "convolutions k > 1: oneDNN 2.6.3 avx512_core_bf16; ..." */
const char *nn_kernels_describe(void);
/* conv_dnnl.c: 1 if this build has oneDNN; its version and ISA in words */
int nn_dnnl_available(void);
const char *nn_dnnl_describe(void);
#endif
