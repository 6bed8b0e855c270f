/* The pickle VM's state, shared by the opcode loop (pickle.c) and the torch-specific
 * builders it calls for GLOBAL, REDUCE and BINPERSID (pickle_torch.c). */
#ifndef CLS_WEIGHTS_PICKLE_VM_H
#define CLS_WEIGHTS_PICKLE_VM_H

#include "weights/pickle.h"

struct cls_pickle {
    cls_pickle_value **values; /* every value built, freed together */
    size_t count, cap;
    size_t bytes; /* bytes allocated so far, bounded by CLS_PICKLE_MAX_ALLOC */
};

typedef struct cls_pickle_vm {
    cls_pickle *p;
    const uint8_t *buf;
    size_t size, pos;
    size_t op_pos;   /* where the opcode being run starts */
    uint64_t origin; /* added to positions in messages */
    cls_pickle_value **stack;
    size_t depth, stack_cap;
    size_t marks[CLS_PICKLE_MAX_MARKS];
    int nmarks;
    cls_pickle_value **memo;
    size_t memo_cap, memo_count;
} cls_pickle_vm;

/* Records an error at the current opcode: "byte N: <message>". */
cls_status cls_pickle_fail(cls_pickle_vm *vm, cls_status status, const char *fmt, ...)
    CLS_PRINTF(3, 4);

/* A new zeroed value of kind, owned by vm->p. */
cls_status cls_pickle_new(cls_pickle_vm *vm, cls_pickle_kind kind, cls_pickle_value **out);

/* Appends item to a tuple, list or dict value's items. */
cls_status cls_pickle_append(cls_pickle_vm *vm, cls_pickle_value *seq, cls_pickle_value *item);

/* Resolves GLOBAL module.name against the allow-list. */
cls_status cls_pickle_global_lookup(cls_pickle_vm *vm, const char *module, size_t module_len,
                                    const char *name, size_t name_len, cls_pickle_global *out);

/* REDUCE: callable(*args) for an allow-listed callable; *out is the result. */
cls_status cls_pickle_reduce(cls_pickle_vm *vm, const cls_pickle_value *callable,
                             const cls_pickle_value *args, cls_pickle_value **out);

/* BINPERSID: a storage from torch's persistent id tuple. */
cls_status cls_pickle_persistent(cls_pickle_vm *vm, const cls_pickle_value *pid,
                                 cls_pickle_value **out);

/* "collections.OrderedDict" and so on. */
const char *cls_pickle_global_name(cls_pickle_global global);

#endif
