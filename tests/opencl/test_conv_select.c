/* The per-device choice of convolution algorithm, on a device that times them: measured once
 * per shape, kept in the context and in the cache directory, read back by a later context
 * instead of timing again, a damaged record timed again, and the choice obeyed by
 * cls_conv3x3_choose unless CLSTYLE_CONV overrides it or the context is reproducible. A
 * device that does not time them (CPUs) takes the rule unless CLSTYLE_CONV=measure. */
#include "check.h"
#include "device_util.h"
#include "ops/conv.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cls_shape shape = {1, 16, 24, 20};
enum { COUT = 24 };

static char cache_dir[256];

/* As if a new process opened the device: no choices in memory, cache at cache_dir. */
static void forget_choices(void)
{
    free(dev->conv_choices);
    dev->conv_choices = NULL;
    dev->conv_choice_count = 0;
    snprintf(dev->tuning_dir, sizeof dev->tuning_dir, "%s", cache_dir);
}

/* The single record file under cache_dir/conv-choices, or "" when there is none. */
static void record_path(char *buf, size_t size)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/conv-choices", cache_dir);
    buf[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            snprintf(buf, size, "%s/%s", dir, e->d_name);
    closedir(d);
}

static void measured_then_cached(void)
{
    unsetenv("CLSTYLE_CONV");
    forget_choices();
    bool timed = false;
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, true, &timed), CLS_OK);
    CHECK(timed && dev->conv_choice_count == 0); /* a dry run times nothing */

    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(timed && dev->conv_choice_count == 1);
    const cls_conv_choice first = dev->conv_choices[0];
    CHECK(first.ms[0] > 0.0 && first.ms[1] > 0.0);
    CHECK(first.algo == (first.ms[1] < first.ms[0] ? CLS_CONV_WINOGRAD : CLS_CONV_DIRECT));
    CHECK(cls_conv3x3_choose(dev, shape, COUT) == (cls_conv_algo)first.algo);
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(!timed && dev->conv_choice_count == 1);

    /* A later process reads the record. */
    forget_choices();
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(!timed && dev->conv_choice_count == 1);
    CHECK(dev->conv_choices[0].algo == first.algo);
    CHECK(dev->conv_choices[0].ms[0] > 0.0);

    /* Another shape is not answered by this one's record. */
    const cls_shape other = {1, 16, 24, 24};
    CHECK_STATUS(cls_conv3x3_select(dev, other, COUT, true, &timed), CLS_OK);
    CHECK(timed);
}

/* A fresh measured record of `shape`, then its choice in memory made the other algorithm
 * than the rule's, which is returned: whoever obeys the record disagrees with the rule. */
static cls_conv_algo record_against_rule(void)
{
    unsetenv("CLSTYLE_CONV");
    forget_choices();
    bool timed;
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(dev->conv_choice_count == 1);
    const cls_conv_algo rule = cls_conv3x3_rule(dev, shape, COUT);
    if (dev->conv_choice_count == 1)
        dev->conv_choices[0].algo = rule == CLS_CONV_DIRECT ? CLS_CONV_WINOGRAD : CLS_CONV_DIRECT;
    return rule;
}

/* Whatever the measurement said is what the network gets; CLSTYLE_CONV overrides it. */
static void choice_obeyed(void)
{
    const cls_conv_algo rule = record_against_rule();
    bool timed;
    CHECK(cls_conv3x3_choose(dev, shape, COUT) != rule);
    setenv("CLSTYLE_CONV", "rule", 1);
    CHECK(cls_conv3x3_choose(dev, shape, COUT) == rule);
    setenv("CLSTYLE_CONV", "direct", 1);
    CHECK(cls_conv3x3_choose(dev, shape, COUT) == CLS_CONV_DIRECT);
    setenv("CLSTYLE_CONV", "winograd", 1);
    CHECK(cls_conv3x3_choose(dev, shape, COUT) == CLS_CONV_WINOGRAD);
    forget_choices(); /* forced: nothing to time */
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(!timed && dev->conv_choice_count == 0);
    unsetenv("CLSTYLE_CONV");
}

/* A reproducible context takes the rule whatever was measured or stored, and times nothing. */
static void reproducible_takes_the_rule(void)
{
    const cls_conv_algo rule = record_against_rule();
    bool timed;
    dev->reproducible = true;
    CHECK(cls_conv3x3_choose(dev, shape, COUT) == rule);
    forget_choices(); /* the record on disk is not read either */
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(!timed && dev->conv_choice_count == 0);
    const cls_shape other = {1, 16, 24, 28}; /* never measured: not timed now */
    CHECK_STATUS(cls_conv3x3_select(dev, other, COUT, false, &timed), CLS_OK);
    CHECK(!timed && dev->conv_choice_count == 0);
    dev->reproducible = false;
}

/* Where the device does not time them (CPUs): the rule, nothing timed or read, whatever is
 * in memory; CLSTYLE_CONV=measure times them all the same. */
static void rule_where_not_timed(void)
{
    const cls_conv_algo rule = record_against_rule();
    bool timed;
    dev->tunables.conv_measure = false;
    CHECK(cls_conv3x3_choose(dev, shape, COUT) == rule);
    forget_choices();
    CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
    CHECK(!timed && dev->conv_choice_count == 0);
    const cls_shape other = {1, 16, 24, 32}; /* never measured */
    CHECK_STATUS(cls_conv3x3_select(dev, other, COUT, true, &timed), CLS_OK);
    CHECK(!timed);
    setenv("CLSTYLE_CONV", "measure", 1);
    CHECK_STATUS(cls_conv3x3_select(dev, other, COUT, true, &timed), CLS_OK);
    CHECK(timed);
    unsetenv("CLSTYLE_CONV");
    dev->tunables.conv_measure = true;
}

/* A record that is damaged or not a choice is timed again and replaced. */
static void damaged_record(void)
{
    unsetenv("CLSTYLE_CONV");
    char path[1024];
    static const char *const garbage[] = {"", "fastest 1 2\n", "winograd\n"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0] + 1; i++) {
        record_path(path, sizeof path);
        CHECK(path[0] != '\0');
        FILE *f = fopen(path, "r+b");
        CHECK(f != NULL);
        if (!f)
            return;
        if (i < sizeof garbage / sizeof garbage[0]) {
            /* Over the file's start: its header or checksum no longer holds. */
            fputs(garbage[i], f);
            fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", f);
        } else {
            fseek(f, 0, SEEK_END);
            long size = ftell(f);
            fclose(f);
            f = NULL;
            CHECK(truncate(path, size / 2) == 0);
        }
        if (f)
            fclose(f);
        forget_choices();
        bool timed = false;
        CHECK_STATUS(cls_conv3x3_select(dev, shape, COUT, false, &timed), CLS_OK);
        CHECK(timed && dev->conv_choice_count == 1);
    }
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    snprintf(cache_dir, sizeof cache_dir, "%s/clstyle-conv-select-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(cache_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char saved_dir[sizeof dev->tuning_dir];
    snprintf(saved_dir, sizeof saved_dir, "%s", dev->tuning_dir);
    const bool saved_measure = dev->tunables.conv_measure;
    dev->tunables.conv_measure = true; /* as on a GPU, whatever this device is */
    RUN_CASE(measured_then_cached);
    RUN_CASE(choice_obeyed);
    RUN_CASE(reproducible_takes_the_rule);
    RUN_CASE(rule_where_not_timed);
    RUN_CASE(damaged_record);
    dev->tunables.conv_measure = saved_measure;
    snprintf(dev->tuning_dir, sizeof dev->tuning_dir, "%s", saved_dir);
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", cache_dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", cache_dir);
    dev_close();
    return check_report();
}
