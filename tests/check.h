/* Minimal assertions for clstyle's test programs: every failed check is printed with its
 * location and counted; the program's exit status says whether any failed. */
#ifndef CLS_TESTS_CHECK_H
#define CLS_TESTS_CHECK_H

#include "clstyle.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CLSTYLE_TEST_QUICK=1 (tests/valgrind/run.py --quick sets it) asks the device and CLI tests
 * for their reduced case lists: a few small cases of each kind, so that the suites finish
 * under valgrind, where kernels run 100 to 300 times slower, in CI's time. The lists keep
 * each op, format, failure kind and phase, with fewer shapes, files, offsets and moments, and
 * leave out runs whose checks are numerical (long runs); the plain run has them all. */
static inline bool check_quick(void)
{
    const char *v = getenv("CLSTYLE_TEST_QUICK");
    return v && *v && strcmp(v, "0") != 0;
}

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* A test's case list: full, or quick under CLSTYLE_TEST_QUICK; count is set to its length. */
#define CHECK_CASES(full, quick, count)                                                    \
    (check_quick() ? ((count) = COUNT_OF(quick), (quick)) : ((count) = COUNT_OF(full), (full)))

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        check_count++;                                                                     \
        if (!(cond)) {                                                                     \
            check_failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
        }                                                                                  \
    } while (0)

/* Checks a cls_status and prints the library's detail message when it differs. */
#define CHECK_STATUS(expr, want)                                                           \
    do {                                                                                   \
        cls_status got_ = (expr);                                                          \
        check_count++;                                                                     \
        if (got_ != (want)) {                                                              \
            check_failures++;                                                              \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n  detail: %s\n",          \
                    __FILE__, __LINE__, #expr, cls_status_str(got_), cls_status_str(want), \
                    cls_last_error());                                                     \
        }                                                                                  \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                   \
    do {                                                                                   \
        const char *h_ = (haystack);                                                       \
        check_count++;                                                                     \
        if (!h_ || !strstr(h_, (needle))) {                                                \
            check_failures++;                                                              \
            fprintf(stderr, "%s:%d: expected \"%s\" in:\n%s\n", __FILE__, __LINE__,        \
                    (needle), h_ ? h_ : "(null)");                                         \
        }                                                                                  \
    } while (0)

static inline double check_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs one test function, naming it and its time in the output (the time shows where a
 * slow run, e.g. under valgrind, spends it). */
#define RUN(test)                                                                          \
    do {                                                                                   \
        int before_ = check_failures;                                                      \
        double started_ = check_seconds();                                                 \
        test();                                                                            \
        printf("%s %s (%.1f s)\n", check_failures == before_ ? "ok  " : "FAIL", #test,     \
               check_seconds() - started_);                                                \
        fflush(stdout);                                                                    \
    } while (0)

/* Calls check_line on every line of dir/MANIFEST that is not blank or a comment (the
 * corpora of bad files); returns how many, or -1 when the manifest cannot be read. */
static inline int check_manifest(const char *dir, void (*check_line)(char *line))
{
    char path[4200], line[1024];
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        check_line(line);
        cases++;
    }
    fclose(f);
    return cases;
}

static inline int check_report(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
