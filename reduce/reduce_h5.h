/* reduce_h5.h - small serial-HDF5 writers shared by lda.h5 (reduce_lda.c) and the MIREX SVM model
 * file (reduce_svm_model.c). Return 0 or -1. */
#ifndef ARTISTNET_REDUCE_H5_H
#define ARTISTNET_REDUCE_H5_H
#include <hdf5.h>

/* float64 dataset of `rank` dims holding v */
int reduce_h5_write_doubles(hid_t f, const char *name, int rank, const hsize_t *dims, const double *v);
/* scalar numeric attribute: file type ftype, memory type mtype */
int reduce_h5_attr_num(hid_t f, const char *name, hid_t ftype, hid_t mtype, const void *v);
#endif
