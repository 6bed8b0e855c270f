/* Where weights are looked for when the user names none. */
#include "runtime/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_PLACES = 8, PATH_SIZE = 4096 };

typedef struct places {
    char path[MAX_PLACES][PATH_SIZE];
    int count;
} places;

static void add(places *p, const char *fmt, const char *a, const char *b)
{
    if (p->count < MAX_PLACES && a && *a)
        snprintf(p->path[p->count++], PATH_SIZE, fmt, a, b ? b : "");
}

static void candidate_places(places *p)
{
    const char *home = getenv("HOME");
    const char *data = getenv("XDG_DATA_HOME");
    const char *cache = getenv("XDG_CACHE_HOME");
    const char *torch_home = getenv("TORCH_HOME");
    add(p, "%s%s", getenv("CLSTYLE_MODEL"), "");
    if (data && *data) {
        add(p, "%s%s", data, "/clstyle/vgg19.pth");
        add(p, "%s%s", data, "/clstyle/vgg19.safetensors");
    } else {
        add(p, "%s%s", home, "/.local/share/clstyle/vgg19.pth");
        add(p, "%s%s", home, "/.local/share/clstyle/vgg19.safetensors");
    }
    /* torchvision's download cache: $TORCH_HOME/hub/checkpoints, TORCH_HOME defaulting to
     * $XDG_CACHE_HOME/torch, that to ~/.cache/torch. */
    if (torch_home && *torch_home)
        add(p, "%s%s", torch_home, "/hub/checkpoints/vgg19-dcbb9e9d.pth");
    else if (cache && *cache)
        add(p, "%s%s", cache, "/torch/hub/checkpoints/vgg19-dcbb9e9d.pth");
    else
        add(p, "%s%s", home, "/.cache/torch/hub/checkpoints/vgg19-dcbb9e9d.pth");
}

cls_status cls_model_find(char *buf, size_t size)
{
    places p = {.count = 0};
    candidate_places(&p);
    for (int i = 0; i < p.count; i++) {
        if (access(p.path[i], R_OK) == 0) {
            if (strlen(p.path[i]) >= size)
                return cls_error(CLS_ERR_INVALID_ARGUMENT, "model path too long");
            snprintf(buf, size, "%s", p.path[i]);
            return CLS_OK;
        }
    }
    char tried[MAX_PLACES * 300] = "";
    for (int i = 0; i < p.count; i++) {
        size_t len = strlen(tried);
        snprintf(tried + len, sizeof tried - len, "\n  %s", p.path[i]);
    }
    return cls_error(CLS_ERR_IO,
                     "no VGG-19 weights found; looked in:%s\nget them with "
                     "tools/fetch-model.sh (downloads torchvision's vgg19-dcbb9e9d.pth, 548 "
                     "MiB), or name a file with --model or CLSTYLE_MODEL",
                     tried);
}
