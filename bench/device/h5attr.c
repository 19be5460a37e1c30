/* h5attr FILE NAME... : prints each numeric root attribute as "NAME=%a" (exact bits); strings as is */
#include <hdf5.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 1;
    for (int i = 2; i < argc; i++) {
        hid_t a = H5Aopen(f, argv[i], H5P_DEFAULT);
        if (a < 0) { printf("%s=missing ", argv[i]); continue; }
        hid_t t = H5Aget_type(a);
        if (H5Tget_class(t) == H5T_STRING) {
            char buf[512] = "";
            hid_t mt = H5Tcopy(t);
            if (H5Tis_variable_str(t)) { char *p = NULL; H5Aread(a, mt, &p); printf("%s=%s ", argv[i], p ? p : ""); }
            else { H5Tset_size(mt, sizeof buf - 1); H5Aread(a, mt, buf); printf("%s=%s ", argv[i], buf); }
            H5Tclose(mt);
        } else {
            double v = 0;
            H5Aread(a, H5T_NATIVE_DOUBLE, &v);
            printf("%s=%a ", argv[i], v);
        }
        H5Tclose(t);
        H5Aclose(a);
    }
    printf("\n");
    H5Fclose(f);
    return 0;
}
