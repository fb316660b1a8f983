/* A module written against the raw C ABI (no SDK), as a third party might: used by the engine's tests.
 * Build-time variants (TESTMOD_*) produce broken modules for the loader's refusal tests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/module_abi.h"

#ifndef TESTMOD_NAME
#define TESTMOD_NAME "probe"
#endif
#ifndef TESTMOD_ABI
#define TESTMOD_ABI PLUMB_MODULE_ABI_VERSION
#endif

typedef struct instance {
    const plumb_host_api *api;
    plumb_host *host;
} instance;

static void *testmod_open(const plumb_host_api *api, plumb_host *host) {
    instance *i = calloc(1, sizeof *i);
    if (!i) return NULL;
    i->api = api;
    i->host = host;
    return i;
}

static void testmod_close(void *p) { free(p); }

/* Minimal extraction of "key":"value" from the engine's compact JSON (args are schema-validated first). */
static int json_string(const char *json, const char *key, char *out, size_t out_size) {
    char pattern[64];
    size_t n = strlen(key);
    if (n + 4 > sizeof pattern) return 0;
    pattern[0] = '"';
    memcpy(pattern + 1, key, n);
    memcpy(pattern + 1 + n, "\":\"", 4);
    const char *p = strstr(json, pattern);
    if (!p) return 0;
    p += n + 4;
    size_t len = 0;
    while (p[len] && p[len] != '"' && len + 1 < out_size) {
        out[len] = p[len];
        ++len;
    }
    out[len] = '\0';
    return 1;
}

static plumb_status testmod_audit(void *p, const char *procedure, const char *args, plumb_reporter *rep) {
    instance *i = p;
    char a[512], b[512];
    if (strcmp(procedure, "echo") == 0 || strcmp(procedure, "live") == 0) {
        /* {"status": "...", "code": "...", "phrase": "..."}: returns what it is told to */
        plumb_status s = PLUMB_STATUS_ERROR;
        if (json_string(args, "status", a, sizeof a)) {
            if (strcmp(a, "pass") == 0) s = PLUMB_STATUS_PASS;
            else if (strcmp(a, "fail") == 0) s = PLUMB_STATUS_FAIL;
            else if (strcmp(a, "notapplicable") == 0) s = PLUMB_STATUS_NOTAPPLICABLE;
        }
        if (json_string(args, "code", a, sizeof a) && json_string(args, "phrase", b, sizeof b))
            i->api->add_reason(rep, a, b);
        return s;
    }
    if (strcmp(procedure, "file_equals") == 0) {
        /* {"path": "...", "content": "..."} */
        const char *data;
        size_t size;
        if (!json_string(args, "path", a, sizeof a) || !json_string(args, "content", b, sizeof b)) return PLUMB_STATUS_ERROR;
        int rc = i->api->read_file(i->host, a, &data, &size);
        if (rc < 0) {
            i->api->add_reason(rep, "read_error", strerror(-rc));
            return rc == -ENOENT ? PLUMB_STATUS_FAIL : PLUMB_STATUS_ERROR;
        }
        if (size == strlen(b) && memcmp(data, b, size) == 0) return PLUMB_STATUS_PASS;
        i->api->add_reason(rep, "content_mismatch", "content differs");
        return PLUMB_STATUS_FAIL;
    }
    i->api->add_reason(rep, "unknown_procedure", procedure);
    return PLUMB_STATUS_ERROR;
}

/* Remediation of file_equals: plans the content, or (argument "write") other content, like a buggy module would. */
static plumb_status testmod_remediate(void *p, const char *procedure, const char *args, plumb_planner *planner,
                                      plumb_reporter *rep) {
    instance *i = p;
    char path[512], content[512];
    if (strcmp(procedure, "file_equals") != 0 || !json_string(args, "path", path, sizeof path)) return PLUMB_STATUS_NOTAPPLICABLE;
    if (testmod_audit(p, procedure, args, rep) == PLUMB_STATUS_PASS) return PLUMB_STATUS_PASS;
    if (!json_string(args, "write", content, sizeof content) && !json_string(args, "content", content, sizeof content))
        return PLUMB_STATUS_ERROR;
    int rc = i->api->plan_write_file(planner, path, content, strlen(content), 0644, "test module remediation");
    return rc == 0 ? PLUMB_STATUS_FAIL : PLUMB_STATUS_ERROR;
}

#define ECHO_SCHEMA                                                                                     \
    "{\"type\":\"object\",\"required\":[\"status\"],\"additionalProperties\":false,\"properties\":{" \
    "\"status\":{\"enum\":[\"pass\",\"fail\",\"notapplicable\",\"error\"]},"                         \
    "\"code\":{\"type\":\"string\"},\"phrase\":{\"type\":\"string\"}}}"

static const plumb_procedure procedures[] = {
    {"echo", "returns the status it is given", ECHO_SCHEMA, 0},
    {"live", "like echo, but only on a running system", ECHO_SCHEMA, PLUMB_PROC_LIVE_ONLY},
    {"file_equals", "a file has exactly this content",
     "{\"type\":\"object\",\"required\":[\"path\",\"content\"],\"additionalProperties\":false,\"properties\":{"
     "\"path\":{\"type\":\"string\",\"pattern\":\"^/\"},\"content\":{\"type\":\"string\"},"
     "\"write\":{\"type\":\"string\"}}}",
     PLUMB_PROC_REMEDIABLE},
};

static const plumb_module module = {
    TESTMOD_ABI, sizeof(plumb_module), TESTMOD_NAME, "1.0", "test module (raw C ABI)",
    procedures,  sizeof procedures / sizeof procedures[0], testmod_open, testmod_close, testmod_audit,
    testmod_remediate, NULL,
};

#ifndef TESTMOD_NO_ENTRY
__attribute__((visibility("default"))) const plumb_module *plumb_module_entry(uint32_t abi) {
    (void)abi;
    return &module;
}
#endif
