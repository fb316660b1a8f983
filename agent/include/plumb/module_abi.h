/*
 * plumb module ABI, version 1.
 *
 * A plumb module is a shared object that exports one C symbol,
 *
 *     const plumb_module *plumb_module_entry(uint32_t host_abi_version);
 *
 * returning a static description of the module: its name and version, the procedures it offers (each with a JSON
 * Schema for its arguments) and the entry points the engine calls. The engine never hands a module a raw path on
 * the host: every file a module reads goes through the plumb_host_api callbacks, which resolve the path inside the
 * configured root (openat2 RESOLVE_IN_ROOT) and cache the bytes for the whole run, so a file is read once however
 * many rules ask for it.
 *
 * Everything crossing this boundary is plain C: strings are NUL-terminated UTF-8, JSON travels as text, errors are
 * negative errno values. Nothing is freed across the boundary: memory handed out by the host stays valid until the
 * module instance is closed; memory handed out by the module stays valid until its next call.
 *
 * Compatibility: the engine refuses a module whose abi_version differs from its own. Fields are only ever appended
 * to the structs below together with an ABI version bump.
 */
#ifndef PLUMB_MODULE_ABI_H
#define PLUMB_MODULE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLUMB_MODULE_ABI_VERSION 1u
#define PLUMB_MODULE_ENTRY_SYMBOL "plumb_module_entry"

/* Result of one procedure call. */
typedef enum plumb_status {
    PLUMB_STATUS_PASS = 0,
    PLUMB_STATUS_FAIL = 1,
    PLUMB_STATUS_NOTAPPLICABLE = 2, /* e.g. a live-only fact requested on an offline root */
    PLUMB_STATUS_ERROR = 3          /* the check could not be made; reasons say why */
} plumb_status;

/* Procedure flags. */
#define PLUMB_PROC_LIVE_ONLY 0x1u   /* needs a running system (/proc, /sys, netlink, D-Bus): NA with --root */
#define PLUMB_PROC_REMEDIABLE 0x2u  /* remediate() can plan a fix for this procedure */

/* File types reported by stat. */
typedef enum plumb_file_type {
    PLUMB_FILE_REGULAR = 1,
    PLUMB_FILE_DIRECTORY = 2,
    PLUMB_FILE_SYMLINK = 3,
    PLUMB_FILE_OTHER = 4
} plumb_file_type;

typedef struct plumb_stat {
    uint32_t type; /* plumb_file_type */
    uint32_t mode; /* permission bits, including setuid/setgid/sticky (st_mode & 07777) */
    uint32_t uid;
    uint32_t gid;
    uint64_t size;
    int64_t mtime_sec;
} plumb_stat;

typedef struct plumb_host plumb_host;         /* opaque: the engine's per-run context */
typedef struct plumb_reporter plumb_reporter; /* opaque: collects the reasons of one procedure call */
typedef struct plumb_planner plumb_planner;   /* opaque: collects the changes one remediation call plans */

/* Notices a remediation plan can carry: consequences the engine reports but does not carry out. */
#define PLUMB_NOTICE_REBOOT_REQUIRED "reboot_required"
#define PLUMB_NOTICE_RELABEL_REQUIRED "relabel_required"
#define PLUMB_NOTICE_INITRAMFS_REBUILD "initramfs_rebuild"
#define PLUMB_NOTICE_RESTART_REQUIRED "restart_required" /* a service must restart; the engine restarts it when live */
#define PLUMB_NOTICE_MANUAL_STEP "manual_step"

/* Services the engine offers a module. All paths are absolute paths as seen inside the root ("/etc/x.conf"). */
typedef struct plumb_host_api {
    uint32_t abi_version;
    uint32_t struct_size;

    /* 1 when auditing the running system (root "/" and not --offline), 0 for an offline image. */
    int (*is_live)(plumb_host *host);

    /* The root directory as given on the command line (for messages only; never open paths under it yourself). */
    const char *(*root_path)(plumb_host *host);

    /* Reads a whole regular file. On success returns 0 and sets *data (NUL-terminated for convenience) and *size;
     * the bytes stay valid until the instance is closed. Returns -errno otherwise (-ENOENT, -EXDEV for an escape
     * attempt, -ELOOP, -EISDIR, -EFBIG for files over the engine's size limit, -EREMOTE for a live-only path such as
     * /proc on an offline root). */
    int (*read_file)(plumb_host *host, const char *path, const char **data, size_t *size);

    /* stat (follow_symlinks=1) or lstat (0) inside the root. Returns 0 or -errno. */
    int (*stat)(plumb_host *host, const char *path, int follow_symlinks, plumb_stat *out);

    /* Lists a directory: on success *names points to `count` NUL-terminated entry names, sorted bytewise, without
     * "." and "..". Returns 0 or -errno. */
    int (*list_dir)(plumb_host *host, const char *path, const char *const **names, size_t *count);

    /* Reads a symbolic link's target as stored (not resolved). Returns 0 or -errno. */
    int (*read_link)(plumb_host *host, const char *path, const char **target);

    /* Opens a file read-only inside the root and returns a new O_CLOEXEC descriptor the module must close, or
     * -errno. For libraries that need a descriptor (sqlite through /proc/self/fd/N, for instance). */
    int (*open_read)(plumb_host *host, const char *path);

    /* Adds a reason to the result of the current call: a stable machine-readable code (snake_case) and a phrase
     * for people that names the expected value, the actual value and where it came from. */
    void (*add_reason)(plumb_reporter *reporter, const char *code, const char *phrase);

    /* Diagnostics for --verbose; level 0 = info, 1 = debug. */
    void (*log)(plumb_host *host, int level, const char *message);

    /* --- Remediation planning: valid only during plumb_module.remediate. Nothing is changed while planning: the
     * engine records the plan, shows it (--dry-run) and applies it later in one transaction. While planning,
     * read_file/stat/list_dir already see the changes planned so far in this run, so modules compose. Each returns
     * 0 or -errno (-EINVAL for a path outside the rules below). */

    /* The file at `path` should have exactly `content`. An existing file keeps its owner, group, mode and
     * SELinux label; a new one gets mode_if_new, owned by root. `why` is one line for the plan. */
    int (*plan_write_file)(plumb_planner *planner, const char *path, const char *content, size_t size,
                           uint32_t mode_if_new, const char *why);
    /* The file at `path` should not exist. */
    int (*plan_remove_file)(plumb_planner *planner, const char *path, const char *why);
    /* A unit action after the files change: "restart", "reload", "try-restart", "enable", "disable", "start",
     * "stop". Done through systemd's D-Bus API on a live host; listed for the operator offline. */
    int (*plan_service)(plumb_planner *planner, const char *unit, const char *action, const char *why);
    /* A consequence the engine reports but does not perform (PLUMB_NOTICE_*). */
    int (*plan_notice)(plumb_planner *planner, const char *kind, const char *phrase);
    /* A live action the module itself performs at apply time through plumb_module.apply_live (loading audit
     * rules into the kernel, committing an nftables batch). payload_json is handed back unchanged;
     * undo_payload_json (may be NULL) is applied if the transaction rolls back. Ignored offline. */
    int (*plan_live_action)(plumb_planner *planner, const char *name, const char *description,
                            const char *payload_json, const char *undo_payload_json);

    /* The live actions this module has planned so far in this run, as a JSON array of {"name", "payload"} in plan
     * order (valid until the next call). Instances are reopened after every planned file change, so a module whose
     * later remediations build on earlier live actions (an nftables ruleset) reads them back here. Appended after
     * the v1 members: check struct_size before calling. Returns 0 or -errno. */
    int (*planned_live_actions)(plumb_planner *planner, const char **json);
} plumb_host_api;

typedef struct plumb_procedure {
    const char *name;             /* unqualified, [a-z0-9_]+; baselines call it as "<module>.<name>" */
    const char *description;      /* one line */
    const char *args_schema_json; /* JSON Schema (the subset plumb's validator supports) for the arguments object */
    uint32_t flags;               /* PLUMB_PROC_* */
} plumb_procedure;

typedef struct plumb_module {
    uint32_t abi_version; /* PLUMB_MODULE_ABI_VERSION */
    uint32_t struct_size; /* sizeof(plumb_module) */
    const char *name;     /* [a-z0-9_]+, equal to the file name plumb_<name>.so */
    const char *version;
    const char *description;
    const plumb_procedure *procedures;
    size_t procedure_count;

    /* Creates the per-run state. Returns NULL on failure (the module's rules then report error). */
    void *(*open)(const plumb_host_api *api, plumb_host *host);
    void (*close)(void *instance);

    /* Runs one audit procedure. args_json is an object already validated against the procedure's schema with
     * parameters substituted. Reasons go through api->add_reason(reporter, ...). */
    plumb_status (*audit)(void *instance, const char *procedure, const char *args_json, plumb_reporter *reporter);

    /* Plans the changes that make procedure(args) pass, through the api->plan_* callbacks. NULL when the module
     * remediates nothing. Returns PASS when nothing needs changing, FAIL when changes were planned, ERROR (with
     * reasons) when no safe change exists, NOTAPPLICABLE when the procedure has no remediation. */
    plumb_status (*remediate)(void *instance, const char *procedure, const char *args_json, plumb_planner *planner,
                              plumb_reporter *reporter);
    /* Performs a live action planned with plan_live_action. Returns 0, or -errno with reasons. May be NULL. */
    int (*apply_live)(void *instance, const char *name, const char *payload_json, plumb_reporter *reporter);
} plumb_module;

typedef const plumb_module *(*plumb_module_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* PLUMB_MODULE_ABI_H */
