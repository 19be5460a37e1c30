/* nn_blas.h - OpenBLAS kernel selection (see blas.c). */
#ifndef ARTISTNET_NN_BLAS_H
#define ARTISTNET_NN_BLAS_H
/* Call first thing in main(): may re-exec the program with OPENBLAS_CORETYPE set. */
void nn_blas_setup(int argc, char **argv);
/* OpenBLAS's kernel set in use, e.g. "SkylakeX". */
const char *nn_blas_corename(void);
/* The better kernel set for this CPU when `current` is a generic fallback, else NULL. */
const char *nn_blas_better_core(const char *current);
#endif
