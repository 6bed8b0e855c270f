/* What the pickle VM allows a state_dict to name and call: the allow-listed globals, the
 * REDUCE builders for OrderedDict and torch's tensor rebuild functions (run as plain data
 * checks, never as calls), and torch's storage persistent ids. */
#include "weights/pickle_vm.h"

#include <string.h>

static const struct {
    const char *module, *name, *full;
    cls_pickle_global global;
} allowed[] = {
    {"collections", "OrderedDict", "collections.OrderedDict", CLS_PICKLE_ORDERED_DICT},
    {"torch._utils", "_rebuild_tensor", "torch._utils._rebuild_tensor", CLS_PICKLE_REBUILD_TENSOR},
    {"torch._utils", "_rebuild_tensor_v2", "torch._utils._rebuild_tensor_v2",
     CLS_PICKLE_REBUILD_TENSOR_2},
    {"torch._utils", "_rebuild_parameter", "torch._utils._rebuild_parameter",
     CLS_PICKLE_REBUILD_PARAM},
    {"torch", "FloatStorage", "torch.FloatStorage", CLS_PICKLE_FLOAT_STORAGE},
    {"torch", "HalfStorage", "torch.HalfStorage", CLS_PICKLE_HALF_STORAGE},
    {"torch", "BFloat16Storage", "torch.BFloat16Storage", CLS_PICKLE_BF16_STORAGE},
};

/* Storage types torch writes for other dtypes: valid files, unsupported here. */
static const char *const other_storages[] = {
    "DoubleStorage", "LongStorage",   "IntStorage",          "ShortStorage",         "CharStorage",
    "ByteStorage",   "BoolStorage",   "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage",
    "QUInt8Storage", "QInt32Storage", "UntypedStorage",
};

static bool span_is(const char *s, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(s, want, len) == 0;
}

const char *cls_pickle_global_name(cls_pickle_global global)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (allowed[i].global == global)
            return allowed[i].full;
    return "?";
}

/* Names are printed with non-printable bytes replaced, so a hostile name cannot garble the
 * message. */
static void printable(char *out, size_t size, const char *s, size_t len)
{
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[n] = '\0';
}

cls_status cls_pickle_global_lookup(cls_pickle_vm *vm, const char *module, size_t module_len,
                                    const char *name, size_t name_len, cls_pickle_global *out)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (span_is(module, module_len, allowed[i].module) &&
            span_is(name, name_len, allowed[i].name)) {
            *out = allowed[i].global;
            return CLS_OK;
        }
    }
    char m[128], n[128];
    printable(m, sizeof m, module, module_len);
    printable(n, sizeof n, name, name_len);
    for (size_t i = 0; i < sizeof other_storages / sizeof other_storages[0]; i++)
        if (span_is(module, module_len, "torch") && span_is(name, name_len, other_storages[i]))
            return cls_pickle_fail(vm, CLS_ERR_UNSUPPORTED,
                                   "tensors of torch.%s are not supported (only float32, "
                                   "float16 and bfloat16 weights)",
                                   n);
    return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                           "global %s.%s is not allowed in a weight file (only "
                           "collections.OrderedDict, torch._utils._rebuild_tensor{,_v2}, "
                           "torch._utils._rebuild_parameter and torch.{Float,Half,BFloat16}Storage"
                           "): refusing to unpickle",
                           m, n);
}

static cls_status bad_arg(cls_pickle_vm *vm, const char *callee, int index, const char *what,
                          const cls_pickle_value *got)
{
    return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                           "%s: argument %d is a Python %s, expected %s", callee, index,
                           cls_pickle_kind_name(got->kind), what);
}

static bool is_nonneg_int(const cls_pickle_value *v)
{
    return v->kind == CLS_PICKLE_INT && v->u.integer >= 0;
}

/* OrderedDict() or, from Python 2 pickles, OrderedDict([[key, value], ...]). */
static cls_status reduce_ordered_dict(cls_pickle_vm *vm, const cls_pickle_value *args,
                                      cls_pickle_value **out)
{
    const char *callee = "collections.OrderedDict";
    cls_status status = cls_pickle_new(vm, CLS_PICKLE_DICT, out);
    if (status != CLS_OK)
        return status;
    (*out)->u.seq.ordered = true;
    if (args->u.seq.len == 0)
        return CLS_OK;
    const cls_pickle_value *items = args->u.seq.items[0];
    if (args->u.seq.len > 1 || items->kind != CLS_PICKLE_LIST)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "%s takes no arguments or one list of pairs", callee);
    for (size_t i = 0; status == CLS_OK && i < items->u.seq.len; i++) {
        const cls_pickle_value *pair = items->u.seq.items[i];
        if ((pair->kind != CLS_PICKLE_LIST && pair->kind != CLS_PICKLE_TUPLE) ||
            pair->u.seq.len != 2)
            return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                                   "%s: item %zu is not a (key, value) pair", callee, i);
        status = cls_pickle_append(vm, *out, pair->u.seq.items[0]);
        if (status == CLS_OK)
            status = cls_pickle_append(vm, *out, pair->u.seq.items[1]);
    }
    return status;
}

/* size or stride: a tuple of non-negative ints, at most CLS_WEIGHT_MAX_DIMS of them. */
static cls_status int_tuple(cls_pickle_vm *vm, const char *callee, int index,
                            const cls_pickle_value *v, int64_t *dims, int *ndim)
{
    if (v->kind != CLS_PICKLE_TUPLE)
        return bad_arg(vm, callee, index, "a tuple of ints", v);
    if (v->u.seq.len > CLS_WEIGHT_MAX_DIMS)
        return cls_pickle_fail(vm, CLS_ERR_UNSUPPORTED,
                               "%s: tensor of %zu dimensions (at most %d are supported)", callee,
                               v->u.seq.len, CLS_WEIGHT_MAX_DIMS);
    for (size_t i = 0; i < v->u.seq.len; i++) {
        if (!is_nonneg_int(v->u.seq.items[i]))
            return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                                   "%s: argument %d holds a Python %s, expected non-negative ints",
                                   callee, index, cls_pickle_kind_name(v->u.seq.items[i]->kind));
        dims[i] = v->u.seq.items[i]->u.integer;
    }
    *ndim = (int)v->u.seq.len;
    return CLS_OK;
}

/* _rebuild_tensor(storage, storage_offset, size, stride) and _rebuild_tensor_v2(...,
 * requires_grad, backward_hooks[, metadata]): only recorded, checked later by name. */
static cls_status reduce_tensor(cls_pickle_vm *vm, bool v2, const cls_pickle_value *args,
                                cls_pickle_value **out)
{
    const char *callee = v2 ? "torch._utils._rebuild_tensor_v2" : "torch._utils._rebuild_tensor";
    size_t n = args->u.seq.len;
    if (v2 ? (n != 6 && n != 7) : n != 4)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s with %zu arguments (expected %s)",
                               callee, n, v2 ? "6 or 7" : "4");
    cls_pickle_value *const *a = args->u.seq.items;
    if (a[0]->kind != CLS_PICKLE_STORAGE)
        return bad_arg(vm, callee, 1, "a storage", a[0]);
    if (!is_nonneg_int(a[1]))
        return bad_arg(vm, callee, 2, "a non-negative int", a[1]);
    if (v2 && a[4]->kind != CLS_PICKLE_BOOL && a[4]->kind != CLS_PICKLE_INT)
        return bad_arg(vm, callee, 5, "a bool", a[4]);
    if (v2 && a[5]->kind != CLS_PICKLE_DICT && a[5]->kind != CLS_PICKLE_NONE)
        return bad_arg(vm, callee, 6, "an OrderedDict", a[5]);
    cls_pickle_tensor t = {.storage = a[0], .offset = (uint64_t)a[1]->u.integer};
    int stride_ndim;
    cls_status status = int_tuple(vm, callee, 3, a[2], t.shape, &t.ndim);
    if (status != CLS_OK || (status = int_tuple(vm, callee, 4, a[3], t.stride, &stride_ndim)))
        return status;
    if (stride_ndim != t.ndim)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s: %d sizes but %d strides", callee,
                               t.ndim, stride_ndim);
    if ((status = cls_pickle_new(vm, CLS_PICKLE_TENSOR, out)) == CLS_OK)
        (*out)->u.tensor = t;
    return status;
}

/* _rebuild_parameter(data, requires_grad, backward_hooks): the tensor itself. */
static cls_status reduce_parameter(cls_pickle_vm *vm, const cls_pickle_value *args,
                                   cls_pickle_value **out)
{
    const char *callee = "torch._utils._rebuild_parameter";
    if (args->u.seq.len != 3)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s with %zu arguments (expected 3)",
                               callee, args->u.seq.len);
    if (args->u.seq.items[0]->kind != CLS_PICKLE_TENSOR)
        return bad_arg(vm, callee, 1, "a tensor", args->u.seq.items[0]);
    *out = args->u.seq.items[0];
    return CLS_OK;
}

cls_status cls_pickle_reduce(cls_pickle_vm *vm, const cls_pickle_value *callable,
                             const cls_pickle_value *args, cls_pickle_value **out)
{
    if (callable->kind != CLS_PICKLE_GLOBAL)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "REDUCE calls a Python %s, not a global",
                               cls_pickle_kind_name(callable->kind));
    if (args->kind != CLS_PICKLE_TUPLE)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "REDUCE with a Python %s of arguments",
                               cls_pickle_kind_name(args->kind));
    switch (callable->u.global) {
    case CLS_PICKLE_ORDERED_DICT: return reduce_ordered_dict(vm, args, out);
    case CLS_PICKLE_REBUILD_TENSOR: return reduce_tensor(vm, false, args, out);
    case CLS_PICKLE_REBUILD_TENSOR_2: return reduce_tensor(vm, true, args, out);
    case CLS_PICKLE_REBUILD_PARAM: return reduce_parameter(vm, args, out);
    default:
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "REDUCE on %s is not allowed (storages come from persistent "
                               "ids)",
                               cls_pickle_global_name(callable->u.global));
    }
}

static cls_status storage_dtype(cls_pickle_vm *vm, const cls_pickle_value *type, cls_dtype *dtype)
{
    if (type->kind == CLS_PICKLE_GLOBAL) {
        switch (type->u.global) {
        case CLS_PICKLE_FLOAT_STORAGE: *dtype = CLS_DTYPE_F32; return CLS_OK;
        case CLS_PICKLE_HALF_STORAGE: *dtype = CLS_DTYPE_F16; return CLS_OK;
        case CLS_PICKLE_BF16_STORAGE: *dtype = CLS_DTYPE_BF16; return CLS_OK;
        default: break;
        }
    }
    return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                           "persistent id: item 2 (%s) is not a storage type",
                           type->kind == CLS_PICKLE_GLOBAL ? cls_pickle_global_name(type->u.global)
                                                           : cls_pickle_kind_name(type->kind));
}

/* A legacy view: (view_key, offset, size) within the root storage, or None. */
static cls_status storage_view(cls_pickle_vm *vm, const cls_pickle_value *v, cls_pickle_storage *s)
{
    if (v->kind == CLS_PICKLE_NONE)
        return CLS_OK;
    if (v->kind != CLS_PICKLE_TUPLE || v->u.seq.len != 3 ||
        v->u.seq.items[0]->kind != CLS_PICKLE_STRING || !is_nonneg_int(v->u.seq.items[1]) ||
        !is_nonneg_int(v->u.seq.items[2]))
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "persistent id: view metadata is not None or (key, offset, size)");
    s->view = true;
    s->view_offset = (uint64_t)v->u.seq.items[1]->u.integer;
    s->view_numel = (uint64_t)v->u.seq.items[2]->u.integer;
    if (s->view_offset > s->numel || s->view_numel > s->numel - s->view_offset)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "persistent id: view [%llu, +%llu) is outside its storage of %llu "
                               "elements",
                               (unsigned long long)s->view_offset,
                               (unsigned long long)s->view_numel, (unsigned long long)s->numel);
    return CLS_OK;
}

/* ('storage', storage_type, key, location, numel) from zip checkpoints, plus view_metadata
 * from legacy ones. */
cls_status cls_pickle_persistent(cls_pickle_vm *vm, const cls_pickle_value *pid,
                                 cls_pickle_value **out)
{
    size_t n = pid->kind == CLS_PICKLE_TUPLE ? pid->u.seq.len : 0;
    if (n != 5 && n != 6)
        return cls_pickle_fail(
            vm, CLS_ERR_WEIGHTS_FORMAT,
            "persistent id is a Python %s of %zu items, expected ('storage', type, "
            "key, location, numel[, view])",
            cls_pickle_kind_name(pid->kind), n);
    cls_pickle_value *const *a = pid->u.seq.items;
    if (!cls_pickle_is_string(a[0], "storage"))
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "persistent id does not start with 'storage'");
    cls_pickle_storage s = {0};
    cls_status status = storage_dtype(vm, a[1], &s.dtype);
    if (status != CLS_OK)
        return status;
    if (a[2]->kind != CLS_PICKLE_STRING || a[2]->u.string.len == 0 ||
        a[2]->u.string.len >= CLS_WEIGHT_NAME_MAX || a[3]->kind != CLS_PICKLE_STRING)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "persistent id: key and location must be short strings");
    if (!is_nonneg_int(a[4]))
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "persistent id: numel is a Python %s, expected a non-negative int",
                               cls_pickle_kind_name(a[4]->kind));
    s.key = a[2]->u.string.data;
    s.key_len = a[2]->u.string.len;
    s.numel = (uint64_t)a[4]->u.integer;
    if (n == 6 && (status = storage_view(vm, a[5], &s)) != CLS_OK)
        return status;
    if ((status = cls_pickle_new(vm, CLS_PICKLE_STORAGE, out)) == CLS_OK)
        (*out)->u.storage = s;
    return status;
}
