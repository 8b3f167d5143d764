/* internal.h - what the harness's files share. */
#ifndef CFH_INTERNAL_H
#define CFH_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cfh/harness.h"

/* Set the error text (printf-style); returns -1 for `return cfh__fail(..)`. */
int cfh__fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Take the pending Python exception into the error text (prefixed by
 * what), clearing it. Returns -1. */
int cfh__fail_py(const char *what);

/* Put the ':'-separated dirs in front of sys.path (interp.c). */
int cfh__prepend_path(const char *dirs);
/* An isolated config with the build's home and sys.executable (interp.c). */
PyStatus cfh__isolated_config(PyConfig *cfg);
/* CFUSER_PYTHONPATH, else the build's package dir. */
const char *cfh__default_pythonpath(void);
/* The counting allocator (alloc_hook.c). */
int cfh__alloc_install(void);
/* The loaded namespace (run.c), borrowed; NULL when none. */
PyObject *cfh__namespace(void);
/* Drop the loaded namespace (before finalising). */
void cfh__run_clear(void);
/* Look up name in the loaded namespace (new reference or NULL + error). */
PyObject *cfh__lookup(const char *name);
/* gc.collect() plus the type cache clear (refleak.c, failsweep.c). */
int cfh__collect(void);
/* The _cfharness built-in module's init (pymod.c). */
PyObject *cfh__pymod_init(void);
/* The DLPack producer type added to _cfharness (dlpack_craft.c). */
int cfh__dlpack_add(PyObject *module);
/* Iteration multiplier from CFUSER_HARNESS_SCALE (>= 1). */
long cfh__scale(void);

#endif
