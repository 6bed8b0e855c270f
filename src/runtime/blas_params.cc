// Reading CLBlast's current tuning parameters for a device: RetrieveParameters exists only
// in CLBlast's C++ API, so this one function bridges it to C.
#include "runtime/blas_tune.h"

#include <clblast.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" int cls_blas_params_retrieve(cl_device_id device, const char *kernel,
                                        cls_blas_params *out)
{
    try {
        std::unordered_map<std::string, size_t> params;
        auto status =
            clblast::RetrieveParameters(device, kernel, clblast::Precision::kSingle, params);
        if (status != clblast::StatusCode::kSuccess)
            return static_cast<int>(status);
        std::vector<std::string> names;
        for (const auto &entry : params)
            names.push_back(entry.first);
        std::sort(names.begin(), names.end());
        if (names.size() > CLS_BLAS_MAX_PARAMS ||
            std::strlen(kernel) >= static_cast<size_t>(CLS_BLAS_NAME_LEN))
            return static_cast<int>(clblast::StatusCode::kUnknownError);
        std::memset(out, 0, sizeof *out);
        std::strcpy(out->kernel, kernel);
        for (const auto &name : names) {
            if (name.size() >= static_cast<size_t>(CLS_BLAS_NAME_LEN))
                return static_cast<int>(clblast::StatusCode::kUnknownError);
            std::strcpy(out->names[out->count], name.c_str());
            out->values[out->count] = params[name];
            out->count++;
        }
        return 0;
    } catch (...) {
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
}
