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

/* A network's weights: the variable naming a file, the installed name, torchvision's. */
typedef struct network_files {
    const char *label, *env, *installed, *torchvision, *fetch_hint;
} network_files;

static const network_files vgg19_files = {
    "VGG-19", "CLSTYLE_MODEL", "vgg19", "vgg19-dcbb9e9d.pth",
    "tools/fetch-model.sh (downloads torchvision's vgg19-dcbb9e9d.pth, 548 MiB), or name a "
    "file with --model or CLSTYLE_MODEL"};
static const network_files vgg16_files = {
    "VGG-16", "CLSTYLE_VGG16", "vgg16", "vgg16-397923af.pth",
    "`tools/fetch-model.sh vgg16` (downloads torchvision's vgg16-397923af.pth, 528 MiB), or "
    "name a file with --vgg or CLSTYLE_VGG16"};

static void candidate_places(places *p, const network_files *n)
{
    const char *home = getenv("HOME");
    const char *data = getenv("XDG_DATA_HOME");
    const char *cache = getenv("XDG_CACHE_HOME");
    const char *torch_home = getenv("TORCH_HOME");
    char name[64];
    add(p, "%s%s", getenv(n->env), "");
    const char *const extensions[] = {".pth", ".safetensors"};
    for (int e = 0; e < 2; e++) {
        snprintf(name, sizeof name, "/clstyle/%s%s", n->installed, extensions[e]);
        if (data && *data)
            add(p, "%s%s", data, name);
        else
            add(p, "%s/.local/share%s", home, name);
    }
    /* torchvision's download cache: $TORCH_HOME/hub/checkpoints, TORCH_HOME defaulting to
     * $XDG_CACHE_HOME/torch, that to ~/.cache/torch. */
    if (torch_home && *torch_home)
        add(p, "%s/hub/checkpoints/%s", torch_home, n->torchvision);
    else if (cache && *cache)
        add(p, "%s/torch/hub/checkpoints/%s", cache, n->torchvision);
    else
        add(p, "%s/.cache/torch/hub/checkpoints/%s", home, n->torchvision);
}

static cls_status find_network(const network_files *n, char *buf, size_t size)
{
    places p = {.count = 0};
    candidate_places(&p, n);
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
    return cls_error(CLS_ERR_IO, "no %s weights found; looked in:%s\nget them with %s", n->label,
                     tried, n->fetch_hint);
}

cls_status cls_model_find(char *buf, size_t size)
{
    return find_network(&vgg19_files, buf, size);
}

cls_status cls_model_find_vgg16(char *buf, size_t size)
{
    return find_network(&vgg16_files, buf, size);
}
