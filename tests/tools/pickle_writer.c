/* CPython's protocol-2 pickler, reduced to what torch.save emits for a state_dict: the same
 * opcodes, the same memo puts and gets, the same batching of SETITEMS. */
#include "pickle_writer.h"

#include <stdlib.h>
#include <string.h>

void buf_bytes(byte_buf *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_byte(byte_buf *b, uint8_t v)
{
    buf_bytes(b, &v, 1);
}

static void buf_le(byte_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        buf_byte(b, (uint8_t)(v >> (8 * i)));
}

void buf_u64le(byte_buf *b, uint64_t v)
{
    buf_le(b, v, 8);
}

/* The pickler: a buffer and the next memo index. */
typedef struct pickler {
    byte_buf *b;
    uint32_t memo;
} pickler;

static uint32_t put(pickler *p)
{
    uint32_t index = p->memo++;
    if (index < 256) {
        buf_byte(p->b, 'q'); /* BINPUT */
        buf_byte(p->b, (uint8_t)index);
    } else {
        buf_byte(p->b, 'r'); /* LONG_BINPUT */
        buf_le(p->b, index, 4);
    }
    return index;
}

static void get(pickler *p, uint32_t index)
{
    if (index < 256) {
        buf_byte(p->b, 'h'); /* BINGET */
        buf_byte(p->b, (uint8_t)index);
    } else {
        buf_byte(p->b, 'j'); /* LONG_BINGET */
        buf_le(p->b, index, 4);
    }
}

static void op(pickler *p, uint8_t code)
{
    buf_byte(p->b, code);
}

/* save_long for protocol 2. */
static void put_int(pickler *p, int64_t v)
{
    if (v >= 0 && v <= 0xff) {
        op(p, 'K');
        buf_byte(p->b, (uint8_t)v);
    } else if (v >= 0 && v <= 0xffff) {
        op(p, 'M');
        buf_le(p->b, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        op(p, 'J');
        buf_le(p->b, (uint64_t)v, 4);
    } else {
        /* LONG1: the shortest little-endian two's complement. */
        int n = 8;
        while (n > 1 && ((v >> (8 * (n - 1) - 1)) == 0 || (v >> (8 * (n - 1) - 1)) == -1))
            n--;
        op(p, 0x8a);
        buf_byte(p->b, (uint8_t)n);
        buf_le(p->b, (uint64_t)v, n);
    }
}

/* A str saved fresh (BINUNICODE, then memoized). */
static void put_str(pickler *p, const char *s)
{
    size_t n = strlen(s);
    op(p, 'X');
    buf_le(p->b, n, 4);
    buf_bytes(p->b, s, n);
    put(p);
}

/* A value torch reuses by identity (a global, an interned str): memoized the first time,
 * fetched with BINGET afterwards. */
typedef struct shared {
    bool saved;
    uint32_t index;
} shared;

static bool fetch(pickler *p, shared *s)
{
    if (s->saved)
        get(p, s->index);
    return s->saved;
}

static void remember(pickler *p, shared *s)
{
    s->index = put(p);
    s->saved = true;
}

static void put_shared_str(pickler *p, shared *s, const char *str)
{
    if (fetch(p, s))
        return;
    size_t n = strlen(str);
    op(p, 'X');
    buf_le(p->b, n, 4);
    buf_bytes(p->b, str, n);
    remember(p, s);
}

static void put_global(pickler *p, shared *s, const char *module, const char *name)
{
    if (fetch(p, s))
        return;
    op(p, 'c');
    buf_bytes(p->b, module, strlen(module));
    buf_byte(p->b, '\n');
    buf_bytes(p->b, name, strlen(name));
    buf_byte(p->b, '\n');
    remember(p, s);
}

/* save_tuple of ints: EMPTY_TUPLE, TUPLE1..3 or MARK ... TUPLE, memoized unless empty. */
static void put_int_tuple(pickler *p, const int64_t *v, int n)
{
    if (n == 0) {
        op(p, ')');
        return;
    }
    if (n > 3)
        op(p, '(');
    for (int i = 0; i < n; i++)
        put_int(p, v[i]);
    op(p, n > 3 ? 't' : (uint8_t)(0x84 + n));
    put(p);
}

typedef struct torch_memo {
    shared ordered_dict, rebuild, storage, cpu, version, types[3];
} torch_memo;

/* OrderedDict(): GLOBAL (or its memo), EMPTY_TUPLE, REDUCE, memoized. */
static void put_empty_ordered_dict(pickler *p, torch_memo *m)
{
    put_global(p, &m->ordered_dict, "collections", "OrderedDict");
    op(p, ')');
    op(p, 'R');
    put(p);
}

static const char *const storage_types[] = {"FloatStorage", "HalfStorage", "BFloat16Storage"};

static void put_tensor(pickler *p, torch_memo *m, const pickle_tensor *t, bool legacy)
{
    put_global(p, &m->rebuild, "torch._utils", "_rebuild_tensor_v2");
    op(p, '(');
    op(p, '('); /* the persistent id */
    put_shared_str(p, &m->storage, "storage");
    put_global(p, &m->types[t->dtype], "torch", storage_types[t->dtype]);
    put_str(p, t->storage_key);
    put_shared_str(p, &m->cpu, "cpu");
    put_int(p, (int64_t)t->numel);
    if (legacy)
        op(p, 'N'); /* view_metadata */
    op(p, 't');
    put(p);
    op(p, 'Q');    /* BINPERSID */
    put_int(p, 0); /* storage_offset */
    put_int_tuple(p, t->shape, t->ndim);
    int64_t stride[CLS_WEIGHT_MAX_DIMS], s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= t->shape[d];
    }
    put_int_tuple(p, stride, t->ndim);
    op(p, 0x89);                  /* requires_grad=False */
    put_empty_ordered_dict(p, m); /* backward_hooks */
    op(p, 't');
    put(p);
    op(p, 'R');
    put(p);
}

/* _metadata: {'_metadata': OrderedDict((module, {'version': v}), ...)} then BUILD. */
static void put_metadata(pickler *p, torch_memo *m, const char *const *modules, const int *versions)
{
    op(p, '}');
    put(p);
    put_str(p, "_metadata");
    put_empty_ordered_dict(p, m);
    size_t n = 0;
    while (modules[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        if (i % 1000 == 0 && n - i > 1)
            op(p, '(');
        put_str(p, modules[i]);
        op(p, '}');
        put(p);
        put_shared_str(p, &m->version, "version");
        put_int(p, versions ? versions[i] : 1);
        op(p, 's');
        if (i % 1000 == 999 || i == n - 1)
            op(p, n - (i - i % 1000) > 1 ? 'u' : 's');
    }
    op(p, 's');
    op(p, 'b'); /* BUILD */
}

void pickle_state_dict(byte_buf *b, const pickle_tensor *t, size_t n,
                       const char *const *metadata_modules, const int *metadata_versions,
                       bool legacy)
{
    pickler p = {.b = b};
    torch_memo m = {0};
    op(&p, 0x80);
    buf_byte(b, 2);
    put_empty_ordered_dict(&p, &m);
    for (size_t i = 0; i < n; i++) {
        size_t batch = n - (i - i % 1000) < 1000 ? n - (i - i % 1000) : 1000;
        if (i % 1000 == 0 && batch > 1)
            op(&p, '(');
        put_str(&p, t[i].name);
        put_tensor(&p, &m, &t[i], legacy);
        if (i % 1000 == batch - 1)
            op(&p, batch > 1 ? 'u' : 's');
    }
    if (metadata_modules)
        put_metadata(&p, &m, metadata_modules, metadata_versions);
    op(&p, '.');
}

void pickle_legacy_header(byte_buf *b)
{
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                    0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    static const uint8_t protocol[] = {0x80, 0x02, 'M', 0xe9, 0x03, '.'};
    buf_bytes(b, magic, sizeof magic);
    buf_bytes(b, protocol, sizeof protocol);
    pickler p = {.b = b};
    op(&p, 0x80);
    buf_byte(b, 2);
    op(&p, '}');
    put(&p);
    op(&p, '(');
    put_str(&p, "protocol_version");
    put_int(&p, 1001);
    put_str(&p, "little_endian");
    op(&p, 0x88);
    put_str(&p, "type_sizes");
    op(&p, '}');
    put(&p);
    op(&p, '(');
    static const char *const names[] = {"short", "int", "long"};
    static const int sizes[] = {2, 4, 4};
    for (int i = 0; i < 3; i++) {
        put_str(&p, names[i]);
        put_int(&p, sizes[i]);
    }
    op(&p, 'u');
    op(&p, 'u');
    op(&p, '.');
}

void pickle_key_list(byte_buf *b, const char *const *keys, size_t n)
{
    pickler p = {.b = b};
    op(&p, 0x80);
    buf_byte(b, 2);
    op(&p, ']');
    put(&p);
    for (size_t i = 0; i < n; i++) {
        size_t batch = n - (i - i % 1000) < 1000 ? n - (i - i % 1000) : 1000;
        if (i % 1000 == 0 && batch > 1)
            op(&p, '(');
        put_str(&p, keys[i]);
        if (i % 1000 == batch - 1)
            op(&p, batch > 1 ? 'e' : 'a');
    }
    op(&p, '.');
}
