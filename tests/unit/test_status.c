/* Status codes: names, OpenCL pass-through, CLBlast mapping, error detail. */
#include "check.h"
#include "runtime/blas_status.h"

static void status_names(void)
{
    CHECK_CONTAINS(cls_status_str(CLS_OK), "CLS_OK");
    CHECK_CONTAINS(cls_status_str(CLS_ERR_NO_DEVICE), "CLS_ERR_NO_DEVICE");
    CHECK_CONTAINS(cls_status_str(CLS_ERR_SHAPE), "CLS_ERR_SHAPE");
    CHECK(strcmp(cls_status_str((cls_status)CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES") == 0);
    CHECK(strcmp(cls_status_str((cls_status)CL_INVALID_KERNEL_ARGS), "CL_INVALID_KERNEL_ARGS") ==
          0);
    CHECK(strcmp(cls_status_str((cls_status)-12345), "unknown status") == 0);
}

/* Every clstyle code is distinct, at most -1024, and outside OpenCL's range. */
static void status_values(void)
{
    static const int values[] = {
#define VALUE_(name, value, text) value,
        CLS_STATUS_LIST(VALUE_)
#undef VALUE_
    };
    size_t n = sizeof values / sizeof values[0];
    CHECK(values[0] == 0);
    for (size_t i = 1; i < n; i++) {
        CHECK(values[i] <= -1024);
        CHECK(cls_cl_error_name(values[i]) == NULL);
        for (size_t j = 0; j < i; j++)
            CHECK(values[i] != values[j]);
    }
}

static void error_detail(void)
{
    cls_status st = cls_error_cl(CL_INVALID_VALUE, "clCreateBuffer(activations)");
    CHECK(st == (cls_status)CL_INVALID_VALUE);
    CHECK_CONTAINS(cls_last_error(), "clCreateBuffer(activations): CL_INVALID_VALUE (-30)");
    cls_error_context(st, "planning layer conv1_1");
    CHECK_CONTAINS(cls_last_error(), "planning layer conv1_1: clCreateBuffer(activations)");
    cls_error_clear();
    CHECK(cls_last_error()[0] == '\0');
}

static void blas_mapping(void)
{
    CHECK(cls_error_blas(CLBlastInvalidLeadDimA, "CLBlastSgemm") == CLS_ERR_BLAS_ARGUMENT);
    CHECK_CONTAINS(cls_last_error(), "CLBlastSgemm: CLBlast CLBlastInvalidLeadDimA (-1016)");
    CHECK(cls_error_blas(CLBlastNotImplemented, "x") == CLS_ERR_UNSUPPORTED);
    CHECK(cls_error_blas(CLBlastInsufficientMemoryTemp, "x") == CLS_ERR_OUT_OF_DEVICE_MEMORY);
    CHECK(cls_error_blas(CLBlastUnknownError, "x") == CLS_ERR_BLAS);
    /* OpenCL codes returned by CLBlast keep their values. */
    CHECK(cls_error_blas(CLBlastOpenCLOutOfResources, "x") == (cls_status)CL_OUT_OF_RESOURCES);
}

int main(void)
{
    RUN(status_names);
    RUN(status_values);
    RUN(error_detail);
    RUN(blas_mapping);
    return check_report();
}
