/* The pickle VM's opcode loop: the few opcodes torch.save uses for a state_dict, with every
 * read, stack, memo and allocation bounded. Other opcodes are refused, never run. */
#include "weights/pickle_vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opcodes, named as in Python's pickle module (the refused ones too, for messages). */
/* clang-format off */
static const struct {
    uint8_t op;
    const char *name;
} opcode_names[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"},
    {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"}, {'J', "BININT"},
    {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"},
    {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"},
    {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"},
    {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
    {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"},
    {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"},
    {'p', "PUT"}, {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"},
    {'t', "TUPLE"}, {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"},
    {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"},
    {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"},
    {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"},
    {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"},
    {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"},
    {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"},
    {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}, {'}', "EMPTY_DICT"},
};
/* clang-format on */

static const char *opcode_name(uint8_t op)
{
    for (size_t i = 0; i < sizeof opcode_names / sizeof opcode_names[0]; i++)
        if (opcode_names[i].op == op)
            return opcode_names[i].name;
    return NULL;
}

cls_status cls_pickle_fail(cls_pickle_vm *vm, cls_status status, const char *fmt, ...)
{
    char message[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    return cls_error(status, "byte %llu: %s", (unsigned long long)(vm->origin + vm->op_pos),
                     message);
}

static cls_status bounded_realloc(cls_pickle_vm *vm, void **ptr, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes - old_bytes > CLS_PICKLE_MAX_ALLOC - vm->p->bytes)
        return cls_pickle_fail(
            vm, CLS_ERR_WEIGHTS_FORMAT,
            "pickle needs more than %zu MiB of memory (a limit for weight files)",
            CLS_PICKLE_MAX_ALLOC >> 20);
    void *grown = realloc(*ptr, new_bytes);
    if (!grown)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %zu bytes for a pickle",
                         new_bytes);
    vm->p->bytes += new_bytes - old_bytes;
    *ptr = grown;
    return CLS_OK;
}

/* Makes *array (of elem-byte items, *cap of them) hold at least need items, up to max. */
static cls_status grow(cls_pickle_vm *vm, void **array, size_t *cap, size_t need, size_t elem,
                       size_t max, const char *what)
{
    if (need <= *cap)
        return CLS_OK;
    if (need > max)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s exceeds the limit of %zu", what,
                               max);
    size_t cap2 = *cap ? *cap : 8;
    while (cap2 < need)
        cap2 *= 2;
    if (cap2 > max)
        cap2 = max;
    cls_status status = bounded_realloc(vm, array, *cap * elem, cap2 * elem);
    if (status == CLS_OK)
        *cap = cap2;
    return status;
}

cls_status cls_pickle_new(cls_pickle_vm *vm, cls_pickle_kind kind, cls_pickle_value **out)
{
    cls_pickle *p = vm->p;
    void *values = p->values, *v = NULL;
    cls_status status = grow(vm, &values, &p->cap, p->count + 1, sizeof *p->values,
                             CLS_PICKLE_MAX_VALUES, "number of pickle values");
    p->values = values;
    if (status == CLS_OK)
        status = bounded_realloc(vm, &v, 0, sizeof(cls_pickle_value));
    if (status != CLS_OK)
        return status;
    *out = memset(v, 0, sizeof(cls_pickle_value));
    (*out)->kind = kind;
    p->values[p->count++] = *out;
    return CLS_OK;
}

cls_status cls_pickle_append(cls_pickle_vm *vm, cls_pickle_value *seq, cls_pickle_value *item)
{
    void *items = seq->u.seq.items;
    cls_status status = grow(vm, &items, &seq->u.seq.cap, seq->u.seq.len + 1,
                             sizeof *seq->u.seq.items, CLS_PICKLE_MAX_VALUES, "container size");
    seq->u.seq.items = items;
    if (status == CLS_OK)
        seq->u.seq.items[seq->u.seq.len++] = item;
    return status;
}

static cls_status push(cls_pickle_vm *vm, cls_pickle_value *v)
{
    void *stack = vm->stack;
    cls_status status = grow(vm, &stack, &vm->stack_cap, vm->depth + 1, sizeof *vm->stack,
                             CLS_PICKLE_MAX_STACK, "pickle stack depth");
    vm->stack = stack;
    if (status == CLS_OK)
        vm->stack[vm->depth++] = v;
    return status;
}

/* The bottom of the current MARK's frame: values above it belong to the frame. */
static size_t frame_base(const cls_pickle_vm *vm)
{
    return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
}

static cls_status pop(cls_pickle_vm *vm, cls_pickle_value **out)
{
    if (vm->depth <= frame_base(vm))
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s on an empty stack",
                               opcode_name(vm->buf[vm->op_pos]));
    *out = vm->stack[--vm->depth];
    return CLS_OK;
}

static cls_status top(cls_pickle_vm *vm, cls_pickle_value **out)
{
    if (vm->depth <= frame_base(vm))
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s on an empty stack",
                               opcode_name(vm->buf[vm->op_pos]));
    *out = vm->stack[vm->depth - 1];
    return CLS_OK;
}

/* Pops the values above the last MARK (and the MARK): *items points at them in the stack,
 * valid until the next push. */
static cls_status pop_mark(cls_pickle_vm *vm, cls_pickle_value ***items, size_t *count)
{
    if (vm->nmarks == 0)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s without a MARK",
                               opcode_name(vm->buf[vm->op_pos]));
    size_t base = vm->marks[--vm->nmarks];
    *count = vm->depth - base;
    *items = *count ? vm->stack + base : NULL; /* the stack is NULL until the first push */
    vm->depth = base;
    return CLS_OK;
}

/* Checks that n more bytes follow the opcode and returns where they start. */
static cls_status take(cls_pickle_vm *vm, size_t n, const uint8_t **out)
{
    if (n > vm->size - vm->pos)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "pickle truncated: %s needs %zu bytes, %zu left",
                               opcode_name(vm->buf[vm->op_pos]), n, vm->size - vm->pos);
    *out = vm->buf + vm->pos;
    vm->pos += n;
    return CLS_OK;
}

static uint64_t le_uint(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

/* Reads an n-byte little-endian length argument. */
static cls_status take_length(cls_pickle_vm *vm, int n, uint64_t *out)
{
    const uint8_t *b = NULL;
    cls_status status = take(vm, (size_t)n, &b);
    if (status == CLS_OK)
        *out = le_uint(b, n);
    return status;
}

static cls_status op_string(cls_pickle_vm *vm, int length_bytes)
{
    uint64_t len = 0;
    const uint8_t *data = NULL;
    cls_status status = take_length(vm, length_bytes, &len);
    if (status != CLS_OK)
        return status;
    if (length_bytes == 4 && vm->buf[vm->op_pos] == 'T' && len > INT32_MAX)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "BINSTRING with a negative length");
    if (len > CLS_PICKLE_MAX_STRING)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "string of %llu bytes exceeds the limit of %d",
                               (unsigned long long)len, CLS_PICKLE_MAX_STRING);
    if ((status = take(vm, (size_t)len, &data)) != CLS_OK)
        return status;
    cls_pickle_value *v = NULL;
    if ((status = cls_pickle_new(vm, CLS_PICKLE_STRING, &v)) != CLS_OK)
        return status;
    v->u.string.data = (const char *)data;
    v->u.string.len = (size_t)len;
    return push(vm, v);
}

static cls_status push_int(cls_pickle_vm *vm, int64_t value)
{
    cls_pickle_value *v = NULL;
    cls_status status = cls_pickle_new(vm, CLS_PICKLE_INT, &v);
    if (status != CLS_OK)
        return status;
    v->u.integer = value;
    return push(vm, v);
}

static cls_status op_binint(cls_pickle_vm *vm, int bytes)
{
    uint64_t raw = 0;
    cls_status status = take_length(vm, bytes, &raw);
    if (status != CLS_OK)
        return status;
    if (bytes == 4)
        return push_int(vm, (int32_t)(uint32_t)raw);
    return push_int(vm, (int64_t)raw);
}

/* LONG1: a little-endian two's complement integer of n bytes; more than 8 is refused. */
static cls_status op_long1(cls_pickle_vm *vm)
{
    uint64_t n = 0;
    const uint8_t *b = NULL;
    cls_status status = take_length(vm, 1, &n);
    if (status != CLS_OK || (status = take(vm, (size_t)n, &b)) != CLS_OK)
        return status;
    if (n > 8)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "LONG1 integer of %u bytes does not fit in 64 bits", (unsigned)n);
    uint64_t raw = le_uint(b, (int)n);
    if (n > 0 && n < 8 && (b[n - 1] & 0x80))
        raw |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    return push_int(vm, (int64_t)raw);
}

static cls_status op_binfloat(cls_pickle_vm *vm)
{
    const uint8_t *b = NULL;
    cls_status status = take(vm, 8, &b);
    if (status != CLS_OK)
        return status;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | b[i]; /* big-endian */
    cls_pickle_value *v = NULL;
    if ((status = cls_pickle_new(vm, CLS_PICKLE_FLOAT, &v)) != CLS_OK)
        return status;
    memcpy(&v->u.real, &bits, sizeof bits);
    return push(vm, v);
}

static cls_status push_bool(cls_pickle_vm *vm, bool value)
{
    cls_pickle_value *v = NULL;
    cls_status status = cls_pickle_new(vm, CLS_PICKLE_BOOL, &v);
    if (status != CLS_OK)
        return status;
    v->u.boolean = value;
    return push(vm, v);
}

static cls_status memo_put(cls_pickle_vm *vm, uint64_t index)
{
    cls_pickle_value *v = NULL;
    cls_status status = top(vm, &v);
    if (status != CLS_OK)
        return status;
    if (index >= CLS_PICKLE_MAX_MEMO)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "memo index %llu exceeds the limit of %d", (unsigned long long)index,
                               CLS_PICKLE_MAX_MEMO);
    size_t old_cap = vm->memo_cap;
    void *memo = vm->memo;
    status = grow(vm, &memo, &vm->memo_cap, (size_t)index + 1, sizeof *vm->memo,
                  CLS_PICKLE_MAX_MEMO, "memo size");
    vm->memo = memo;
    if (status != CLS_OK)
        return status;
    if (vm->memo_cap > old_cap)
        memset(vm->memo + old_cap, 0, (vm->memo_cap - old_cap) * sizeof *vm->memo);
    if (!vm->memo[index])
        vm->memo_count++;
    vm->memo[index] = v;
    return CLS_OK;
}

static cls_status op_put(cls_pickle_vm *vm, int index_bytes)
{
    uint64_t index = 0;
    cls_status status = take_length(vm, index_bytes, &index);
    return status != CLS_OK ? status : memo_put(vm, index);
}

static cls_status op_get(cls_pickle_vm *vm, int index_bytes)
{
    uint64_t index = 0;
    cls_status status = take_length(vm, index_bytes, &index);
    if (status != CLS_OK)
        return status;
    if (index >= vm->memo_cap || !vm->memo[index])
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "memo index %llu was never set",
                               (unsigned long long)index);
    return push(vm, vm->memo[index]);
}

static cls_status op_mark(cls_pickle_vm *vm)
{
    if (vm->nmarks == CLS_PICKLE_MAX_MARKS)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "pickle nested deeper than %d MARKs (a limit for weight files)",
                               CLS_PICKLE_MAX_MARKS);
    vm->marks[vm->nmarks++] = vm->depth;
    return CLS_OK;
}

static cls_status push_new(cls_pickle_vm *vm, cls_pickle_kind kind)
{
    cls_pickle_value *v = NULL;
    cls_status status = cls_pickle_new(vm, kind, &v);
    return status != CLS_OK ? status : push(vm, v);
}

/* items may sit in the stack above vm->depth: nothing is pushed until they are copied. */
static cls_status make_tuple(cls_pickle_vm *vm, cls_pickle_value *const *items, size_t count)
{
    cls_pickle_value *t = NULL;
    cls_status status = cls_pickle_new(vm, CLS_PICKLE_TUPLE, &t);
    for (size_t i = 0; status == CLS_OK && i < count; i++)
        status = cls_pickle_append(vm, t, items[i]);
    return status != CLS_OK ? status : push(vm, t);
}

static cls_status op_tuple_mark(cls_pickle_vm *vm)
{
    cls_pickle_value **items = NULL;
    size_t count = 0;
    cls_status status = pop_mark(vm, &items, &count);
    return status != CLS_OK ? status : make_tuple(vm, items, count);
}

static cls_status op_tuple_n(cls_pickle_vm *vm, size_t n)
{
    if (vm->depth - frame_base(vm) < n)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "TUPLE%zu with %zu values on the stack",
                               n, vm->depth - frame_base(vm));
    vm->depth -= n;
    return make_tuple(vm, vm->stack + vm->depth, n);
}

static cls_status expect_container(cls_pickle_vm *vm, const cls_pickle_value *v,
                                   cls_pickle_kind kind)
{
    if (v->kind == kind)
        return CLS_OK;
    return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s on a Python %s, expected a Python %s",
                           opcode_name(vm->buf[vm->op_pos]), cls_pickle_kind_name(v->kind),
                           cls_pickle_kind_name(kind));
}

/* Appends items to the container under them (SETITEM(S), APPEND(S)). */
static cls_status add_items(cls_pickle_vm *vm, cls_pickle_kind kind, cls_pickle_value *const *items,
                            size_t count)
{
    cls_pickle_value *container = NULL;
    cls_status status = top(vm, &container);
    if (status != CLS_OK || (status = expect_container(vm, container, kind)) != CLS_OK)
        return status;
    if (kind == CLS_PICKLE_DICT && count % 2 != 0)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "SETITEMS with an odd number (%zu) of keys and values", count);
    for (size_t i = 0; status == CLS_OK && i < count; i++)
        status = cls_pickle_append(vm, container, items[i]);
    return status;
}

static cls_status op_add_n(cls_pickle_vm *vm, cls_pickle_kind kind, size_t n)
{
    if (vm->depth - frame_base(vm) < n + 1)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s with too few values on the stack",
                               opcode_name(vm->buf[vm->op_pos]));
    vm->depth -= n;
    return add_items(vm, kind, vm->stack + vm->depth, n);
}

static cls_status op_add_mark(cls_pickle_vm *vm, cls_pickle_kind kind)
{
    cls_pickle_value **items = NULL;
    size_t count = 0;
    cls_status status = pop_mark(vm, &items, &count);
    return status != CLS_OK ? status : add_items(vm, kind, items, count);
}

static cls_status push_global(cls_pickle_vm *vm, const char *module, size_t module_len,
                              const char *name, size_t name_len)
{
    cls_pickle_global global = CLS_PICKLE_ORDERED_DICT;
    cls_pickle_value *v = NULL;
    cls_status status = cls_pickle_global_lookup(vm, module, module_len, name, name_len, &global);
    if (status != CLS_OK || (status = cls_pickle_new(vm, CLS_PICKLE_GLOBAL, &v)) != CLS_OK)
        return status;
    v->u.global = global;
    return push(vm, v);
}

/* Reads a newline-terminated argument of GLOBAL (at most 256 bytes). */
static cls_status take_line(cls_pickle_vm *vm, const char **line, size_t *len)
{
    size_t left = vm->size - vm->pos, max = left < 257 ? left : 257;
    const uint8_t *start = vm->buf + vm->pos;
    const uint8_t *nl = memchr(start, '\n', max);
    if (!nl)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "%s",
                               max == left ? "pickle truncated in a GLOBAL name"
                                           : "GLOBAL name longer than 256 bytes");
    *line = (const char *)start;
    *len = (size_t)(nl - start);
    vm->pos += *len + 1;
    return CLS_OK;
}

static cls_status op_global(cls_pickle_vm *vm)
{
    const char *module = NULL, *name = NULL;
    size_t module_len = 0, name_len = 0;
    cls_status status = take_line(vm, &module, &module_len);
    if (status != CLS_OK || (status = take_line(vm, &name, &name_len)) != CLS_OK)
        return status;
    return push_global(vm, module, module_len, name, name_len);
}

static cls_status op_stack_global(cls_pickle_vm *vm)
{
    cls_pickle_value *module = NULL, *name = NULL;
    cls_status status = pop(vm, &name);
    if (status != CLS_OK || (status = pop(vm, &module)) != CLS_OK)
        return status;
    if (module->kind != CLS_PICKLE_STRING || name->kind != CLS_PICKLE_STRING)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "STACK_GLOBAL needs two strings");
    return push_global(vm, module->u.string.data, module->u.string.len, name->u.string.data,
                       name->u.string.len);
}

static cls_status op_reduce(cls_pickle_vm *vm)
{
    cls_pickle_value *args = NULL, *callable = NULL, *result = NULL;
    cls_status status = pop(vm, &args);
    if (status != CLS_OK || (status = pop(vm, &callable)) != CLS_OK)
        return status;
    if ((status = cls_pickle_reduce(vm, callable, args, &result)) != CLS_OK)
        return status;
    return push(vm, result);
}

/* BUILD sets an object's state: only an OrderedDict's (state_dict._metadata), ignored. */
static cls_status op_build(cls_pickle_vm *vm)
{
    cls_pickle_value *state = NULL, *object = NULL;
    cls_status status = pop(vm, &state);
    if (status != CLS_OK || (status = top(vm, &object)) != CLS_OK)
        return status;
    if (object->kind != CLS_PICKLE_DICT || !object->u.seq.ordered)
        return cls_pickle_fail(
            vm, CLS_ERR_WEIGHTS_FORMAT,
            "BUILD on a Python %s (only an OrderedDict's state is accepted)",
            object->kind == CLS_PICKLE_DICT ? "dict" : cls_pickle_kind_name(object->kind));
    return CLS_OK;
}

static cls_status op_persid(cls_pickle_vm *vm)
{
    cls_pickle_value *pid = NULL, *storage = NULL;
    cls_status status = pop(vm, &pid);
    if (status != CLS_OK || (status = cls_pickle_persistent(vm, pid, &storage)) != CLS_OK)
        return status;
    return push(vm, storage);
}

static cls_status op_proto(cls_pickle_vm *vm)
{
    uint64_t version = 0;
    cls_status status = take_length(vm, 1, &version);
    if (status == CLS_OK && version > 5)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "pickle protocol %u is unknown",
                               (unsigned)version);
    return status;
}

/* FRAME (protocol 4) only announces the length of what follows. */
static cls_status op_frame(cls_pickle_vm *vm)
{
    uint64_t length = 0;
    cls_status status = take_length(vm, 8, &length);
    if (status == CLS_OK && length > vm->size - vm->pos)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "pickle truncated: FRAME of %llu bytes, %zu left",
                               (unsigned long long)length, vm->size - vm->pos);
    return status;
}

static cls_status refuse(cls_pickle_vm *vm, uint8_t op)
{
    const char *name = opcode_name(op);
    if (name)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "pickle opcode %s (0x%02x) is not allowed in a weight file", name,
                               op);
    return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "invalid pickle opcode 0x%02x", op);
}

static cls_status run_data_op(cls_pickle_vm *vm, uint8_t op)
{
    switch (op) {
    case 'X': return op_string(vm, 4);  /* BINUNICODE */
    case 0x8c: return op_string(vm, 1); /* SHORT_BINUNICODE */
    case 0x8d: return op_string(vm, 8); /* BINUNICODE8 */
    case 'T': return op_string(vm, 4);  /* BINSTRING */
    case 'U': return op_string(vm, 1);  /* SHORT_BINSTRING */
    case 'J': return op_binint(vm, 4);  /* BININT */
    case 'K': return op_binint(vm, 1);  /* BININT1 */
    case 'M': return op_binint(vm, 2);  /* BININT2 */
    case 0x8a: return op_long1(vm);     /* LONG1 */
    case 'G': return op_binfloat(vm);   /* BINFLOAT */
    case 0x88: return push_bool(vm, true);
    case 0x89: return push_bool(vm, false);
    case 'N': return push_new(vm, CLS_PICKLE_NONE);
    case ')': return push_new(vm, CLS_PICKLE_TUPLE);
    case ']': return push_new(vm, CLS_PICKLE_LIST);
    case '}': return push_new(vm, CLS_PICKLE_DICT);
    default: return refuse(vm, op);
    }
}

static cls_status run_op(cls_pickle_vm *vm, uint8_t op)
{
    switch (op) {
    case 0x80: return op_proto(vm);
    case 0x95: return op_frame(vm);
    case '(': return op_mark(vm);
    case 't': return op_tuple_mark(vm);
    case 0x85: return op_tuple_n(vm, 1);
    case 0x86: return op_tuple_n(vm, 2);
    case 0x87: return op_tuple_n(vm, 3);
    case 'q': return op_put(vm, 1);                 /* BINPUT */
    case 'r': return op_put(vm, 4);                 /* LONG_BINPUT */
    case 0x94: return memo_put(vm, vm->memo_count); /* MEMOIZE */
    case 'h': return op_get(vm, 1);                 /* BINGET */
    case 'j': return op_get(vm, 4);                 /* LONG_BINGET */
    case 's': return op_add_n(vm, CLS_PICKLE_DICT, 2);
    case 'u': return op_add_mark(vm, CLS_PICKLE_DICT);
    case 'a': return op_add_n(vm, CLS_PICKLE_LIST, 1);
    case 'e': return op_add_mark(vm, CLS_PICKLE_LIST);
    case 'c': return op_global(vm);
    case 0x93: return op_stack_global(vm);
    case 'R': return op_reduce(vm);
    case 'b': return op_build(vm);
    case 'Q': return op_persid(vm);
    default: return run_data_op(vm, op);
    }
}

/* STOP: the one value left is the result; anything else means a malformed pickle. */
static cls_status op_stop(cls_pickle_vm *vm, const cls_pickle_value **root)
{
    if (vm->nmarks != 0 || vm->depth != 1)
        return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT,
                               "STOP with %zu values and %d MARKs on the stack (expected 1 and 0)",
                               vm->depth, vm->nmarks);
    *root = vm->stack[0];
    return CLS_OK;
}

static cls_status run(cls_pickle_vm *vm, const cls_pickle_value **root)
{
    cls_status status = CLS_OK;
    while (status == CLS_OK) {
        vm->op_pos = vm->pos;
        if (vm->pos >= vm->size)
            return cls_pickle_fail(vm, CLS_ERR_WEIGHTS_FORMAT, "pickle truncated: no STOP opcode");
        uint8_t op = vm->buf[vm->pos++];
        if (op == '.')
            return op_stop(vm, root);
        status = run_op(vm, op);
    }
    return status;
}

cls_status cls_pickle_load(const uint8_t *buf, size_t size, uint64_t origin, cls_pickle **out,
                           const cls_pickle_value **root, size_t *consumed)
{
    cls_status status = CLS_OK;
    cls_pickle_vm vm = {.buf = buf, .size = size, .origin = origin};
    *out = NULL;
    vm.p = calloc(1, sizeof *vm.p);
    CLS_CHECK_ALLOC(vm.p, "a pickle");
    CLS_TRY(run(&vm, root));
    *consumed = vm.pos;
    *out = vm.p;
    vm.p = NULL;
fail:
    free(vm.stack);
    free(vm.memo);
    cls_pickle_free(vm.p);
    return status;
}

void cls_pickle_free(cls_pickle *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++) {
        cls_pickle_kind kind = p->values[i]->kind;
        if (kind == CLS_PICKLE_TUPLE || kind == CLS_PICKLE_LIST || kind == CLS_PICKLE_DICT)
            free(p->values[i]->u.seq.items);
        free(p->values[i]);
    }
    free(p->values);
    free(p);
}

const char *cls_pickle_kind_name(cls_pickle_kind kind)
{
    static const char *const names[] = {
        [CLS_PICKLE_NONE] = "None",     [CLS_PICKLE_BOOL] = "bool",
        [CLS_PICKLE_INT] = "int",       [CLS_PICKLE_FLOAT] = "float",
        [CLS_PICKLE_STRING] = "str",    [CLS_PICKLE_TUPLE] = "tuple",
        [CLS_PICKLE_LIST] = "list",     [CLS_PICKLE_DICT] = "dict",
        [CLS_PICKLE_GLOBAL] = "global", [CLS_PICKLE_STORAGE] = "storage",
        [CLS_PICKLE_TENSOR] = "tensor",
    };
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "value";
}

bool cls_pickle_is_string(const cls_pickle_value *v, const char *s)
{
    size_t n = strlen(s);
    return v->kind == CLS_PICKLE_STRING && v->u.string.len == n &&
           memcmp(v->u.string.data, s, n) == 0;
}
