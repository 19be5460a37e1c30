/* reduce_svm_kernel.h - the precomputed-kernel rows that reduce_svm's grid and final fits and
 * reduce_svm_model's fit train LIBSVM on (private to reduce/: it names LIBSVM's svm_node). */
#ifndef ARTISTNET_REDUCE_SVM_KERNEL_H
#define ARTISTNET_REDUCE_SVM_KERNEL_H
#include <stddef.h>
#include <svm.h>

/* The kernel matrix as LIBSVM's precomputed-kernel rows, n x (n + 2) nodes in `nodes`: row i holds its
 * serial number i + 1, then K(i, j) at 1 + j, then the end marker. K comes from the Gram matrix of
 * the standardised rows (n x n, row-major) with LIBSVM's own RBF formula exp(-gamma (|x|^2 + |y|^2 -
 * 2 x.y)) (rbf) or the dot product (linear). With sel, only columns j with sel[j] are set, and rows i
 * without sel[i] get their serial number and end marker only, unless all_rows (a fit reads the
 * training side's columns; only a final fit predicts the other rows). sel NULL: every entry. */
void reduce_svm_kernel_rows(const double *gram, size_t n, const int *sel, int all_rows, int rbf, double gamma,
                            struct svm_node *nodes);

#endif
