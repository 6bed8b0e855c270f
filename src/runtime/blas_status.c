/* CLBlast status codes mapped onto cls_status. */
#include "runtime/blas_status.h"

static const char *blas_code_name(CLBlastStatusCode code)
{
    switch (code) {
    case CLBlastNotImplemented: return "CLBlastNotImplemented";
    case CLBlastInvalidMatrixA: return "CLBlastInvalidMatrixA";
    case CLBlastInvalidMatrixB: return "CLBlastInvalidMatrixB";
    case CLBlastInvalidMatrixC: return "CLBlastInvalidMatrixC";
    case CLBlastInvalidVectorX: return "CLBlastInvalidVectorX";
    case CLBlastInvalidVectorY: return "CLBlastInvalidVectorY";
    case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
    case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
    case CLBlastInvalidIncrementX: return "CLBlastInvalidIncrementX";
    case CLBlastInvalidIncrementY: return "CLBlastInvalidIncrementY";
    case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
    case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
    case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
    case CLBlastInsufficientMemoryX: return "CLBlastInsufficientMemoryX";
    case CLBlastInsufficientMemoryY: return "CLBlastInsufficientMemoryY";
    case CLBlastInsufficientMemoryTemp: return "CLBlastInsufficientMemoryTemp";
    case CLBlastInvalidBatchCount: return "CLBlastInvalidBatchCount";
    case CLBlastInvalidOverrideKernel: return "CLBlastInvalidOverrideKernel";
    case CLBlastMissingOverrideParameter: return "CLBlastMissingOverrideParameter";
    case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
    case CLBlastNoHalfPrecision: return "CLBlastNoHalfPrecision";
    case CLBlastNoDoublePrecision: return "CLBlastNoDoublePrecision";
    case CLBlastInvalidVectorScalar: return "CLBlastInvalidVectorScalar";
    case CLBlastInsufficientMemoryScalar: return "CLBlastInsufficientMemoryScalar";
    case CLBlastDatabaseError: return "CLBlastDatabaseError";
    case CLBlastUnknownError: return "CLBlastUnknownError";
    case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
    default: return NULL;
    }
}

static cls_status blas_code_status(CLBlastStatusCode code)
{
    switch (code) {
    case CLBlastNotImplemented:
    case CLBlastNoHalfPrecision:
    case CLBlastNoDoublePrecision:
    case CLBlastInvalidLocalMemUsage: return CLS_ERR_UNSUPPORTED;
    case CLBlastInsufficientMemoryTemp: return CLS_ERR_OUT_OF_DEVICE_MEMORY;
    case CLBlastDatabaseError:
    case CLBlastUnknownError:
    case CLBlastUnexpectedError:
    case CLBlastInvalidOverrideKernel:
    case CLBlastMissingOverrideParameter: return CLS_ERR_BLAS;
    default: return CLS_ERR_BLAS_ARGUMENT;
    }
}

cls_status cls_error_blas(CLBlastStatusCode code, const char *what)
{
    if (code > -1000) /* an OpenCL code CLBlast passed through */
        return cls_error_cl((cl_int)code, what);
    const char *name = blas_code_name(code);
    return cls_error(blas_code_status(code), "%s: CLBlast %s (%d)", what, name ? name : "status",
                     (int)code);
}
