/* The kernel binary cache: hits, misses, corrupt and truncated files, wrong keys,
 * unwritable directories, and concurrent writers. */
#include "check.h"
#include "runtime/kernel_cache.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static cls_cache_key key_for(const char *source)
{
    const char *parts[] = {source, "-cl-std=CL1.2", "platform", "device", "driver"};
    return cls_cache_key_of(parts, 5);
}

static char *entry_file(const cls_cache_key *key)
{
    static char path[512];
    char hex[33];
    cls_cache_key_hex(key, hex);
    snprintf(path, sizeof path, "%s/%s.clbin", dir, hex);
    return path;
}

static bool load_equals(const cls_cache_key *key, const char *want, bool *rejected)
{
    void *data = NULL;
    size_t size = 0;
    cls_status st = cls_cache_load(dir, key, &data, &size, rejected);
    bool same = st == CLS_OK && size == strlen(want) && memcmp(data, want, size) == 0;
    free(data);
    return same;
}

static void keys(void)
{
    cls_cache_key a = key_for("kernel void f() {}");
    cls_cache_key b = key_for("kernel void g() {}");
    cls_cache_key a2 = key_for("kernel void f() {}");
    CHECK(memcmp(&a, &b, sizeof a) != 0);
    CHECK(memcmp(&a, &a2, sizeof a) == 0);
    /* Part boundaries matter. */
    const char *p1[] = {"ab", "c"}, *p2[] = {"a", "bc"};
    cls_cache_key k1 = cls_cache_key_of(p1, 2), k2 = cls_cache_key_of(p2, 2);
    CHECK(memcmp(&k1, &k2, sizeof k1) != 0);
    char hex[33];
    cls_cache_key_hex(&a, hex);
    CHECK(strlen(hex) == 32);
}

static void hit_and_miss(void)
{
    cls_cache_key key = key_for("hit");
    bool rejected = true;
    void *data = (void *)1;
    size_t size = 1;
    CHECK_STATUS(cls_cache_load(dir, &key, &data, &size, &rejected), CLS_ERR_CACHE_MISS);
    CHECK(!rejected && data == NULL && size == 0);
    CHECK_STATUS(cls_cache_store(dir, &key, "binary bytes", 12), CLS_OK);
    CHECK(load_equals(&key, "binary bytes", &rejected));
    /* Storing again replaces the entry. */
    CHECK_STATUS(cls_cache_store(dir, &key, "newer binary", 12), CLS_OK);
    CHECK(load_equals(&key, "newer binary", &rejected));
}

static void flip_byte(const char *path, long offset)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, offset, SEEK_SET);
    int c = fgetc(f);
    fseek(f, offset, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void corrupt_files_are_rejected(void)
{
    cls_cache_key key = key_for("corrupt");
    const char *payload = "a compiled program of some length";
    bool rejected = false;

    CHECK_STATUS(cls_cache_store(dir, &key, payload, strlen(payload)), CLS_OK);
    flip_byte(entry_file(&key), 50); /* in the payload */
    CHECK(!load_equals(&key, payload, &rejected));
    CHECK(rejected);
    CHECK_CONTAINS(cls_last_error(), "checksum");

    CHECK_STATUS(cls_cache_store(dir, &key, payload, strlen(payload)), CLS_OK);
    flip_byte(entry_file(&key), 2); /* in the magic */
    CHECK(!load_equals(&key, payload, &rejected));
    CHECK(rejected);
    CHECK_CONTAINS(cls_last_error(), "magic");

    for (long cut = 0; cut < 40 + (long)strlen(payload); cut += 7) {
        CHECK_STATUS(cls_cache_store(dir, &key, payload, strlen(payload)), CLS_OK);
        CHECK(truncate(entry_file(&key), cut) == 0);
        rejected = false;
        CHECK(!load_equals(&key, payload, &rejected));
        CHECK(rejected);
    }
}

static void wrong_key_is_rejected(void)
{
    cls_cache_key mine = key_for("mine"), other = key_for("other");
    bool rejected = false;
    CHECK_STATUS(cls_cache_store(dir, &other, "other binary", 12), CLS_OK);
    char other_path[512];
    snprintf(other_path, sizeof other_path, "%s", entry_file(&other));
    CHECK(rename(other_path, entry_file(&mine)) == 0);
    CHECK(!load_equals(&mine, "other binary", &rejected));
    CHECK(rejected);
    CHECK_CONTAINS(cls_last_error(), "another key");
}

static void unwritable_directory(void)
{
    /* A directory below a regular file can never be created, even by root. */
    char blocker[300], below[340];
    snprintf(blocker, sizeof blocker, "%s/not-a-dir", dir);
    FILE *f = fopen(blocker, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(below, sizeof below, "%s/cache", blocker);
    cls_cache_key key = key_for("ro");
    CHECK_STATUS(cls_cache_store(below, &key, "x", 1), CLS_ERR_IO);
    CHECK_CONTAINS(cls_last_error(), "cannot create");
    bool rejected = true;
    void *data;
    size_t size;
    CHECK_STATUS(cls_cache_load(below, &key, &data, &size, &rejected), CLS_ERR_CACHE_MISS);
    CHECK(!rejected);
}

static void nested_directory_is_created(void)
{
    char nested[320];
    snprintf(nested, sizeof nested, "%s/a/b/c", dir);
    cls_cache_key key = key_for("nested");
    CHECK_STATUS(cls_cache_store(nested, &key, "x", 1), CLS_OK);
    struct stat st;
    CHECK(stat(nested, &st) == 0 && S_ISDIR(st.st_mode));
}

/* Two writers store different-length payloads under one key while the parent reads: a
 * load must return one of the two payloads whole, or a miss, never anything else. */
static void concurrent_writers(void)
{
    cls_cache_key key = key_for("race");
    static char big_a[100000], big_b[70001];
    memset(big_a, 'a', sizeof big_a - 1);
    memset(big_b, 'b', sizeof big_b - 1);
    pid_t writers[2];
    for (int w = 0; w < 2; w++) {
        writers[w] = fork();
        if (writers[w] == 0) {
            const char *payload = w ? big_b : big_a;
            for (int i = 0; i < 200; i++)
                if (cls_cache_store(dir, &key, payload, strlen(payload)) != CLS_OK)
                    _exit(1);
            _exit(0);
        }
    }
    int hits = 0, bad = 0;
    for (int i = 0; i < 400; i++) {
        void *data = NULL;
        size_t size = 0;
        bool rejected = false;
        if (cls_cache_load(dir, &key, &data, &size, &rejected) == CLS_OK) {
            hits++;
            const char *want = size == strlen(big_a) ? big_a : big_b;
            if (size != strlen(want) || memcmp(data, want, size) != 0)
                bad++;
        } else if (rejected) {
            bad++;
        }
        free(data);
    }
    for (int w = 0; w < 2; w++) {
        int wstatus = 0;
        waitpid(writers[w], &wstatus, 0);
        CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    }
    printf("  concurrent: %d hits of 400 loads, %d bad\n", hits, bad);
    CHECK(bad == 0);
    /* No temporary files are left behind. */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '\\.tmp$' > /dev/null", dir);
    CHECK(system(cmd) != 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/clstyle-cache-test-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(keys);
    RUN(hit_and_miss);
    RUN(corrupt_files_are_rejected);
    RUN(wrong_key_is_rejected);
    RUN(unwritable_directory);
    RUN(nested_directory_is_created);
    RUN(concurrent_writers);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
