/* interp.c - one isolated, instrumented interpreter per process. */
#include "internal.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef CFH_PYTHONPATH_DEFAULT
#define CFH_PYTHONPATH_DEFAULT ""
#endif
#ifndef CFH_PYTHON_EXECUTABLE
#define CFH_PYTHON_EXECUTABLE ""
#endif
#ifndef CFH_PYTHON_HOME
#define CFH_PYTHON_HOME ""
#endif
#ifndef CFH_BUILD_ALLOCATOR
#define CFH_BUILD_ALLOCATOR CFH_ALLOC_PYMALLOC
#endif

static char g_error[32768] = "no error";
static char g_pythonpath[4096];
static int g_initialized;

const char *cfh_error(void) { return g_error; }
const char *cfh_pythonpath(void) { return g_pythonpath; }

int cfh__fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    return -1;
}

/* The pending exception, formatted by traceback.format_exception (so the
 * text carries the chained causes); the type name when that fails too. */
int cfh__fail_py(const char *what)
{
    PyObject *type, *value, *tb, *mod = NULL, *lines = NULL, *sep = NULL,
             *text = NULL;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return cfh__fail("%s: failed without a Python exception", what);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    mod = PyImport_ImportModule("traceback");
    if (mod != NULL)
        lines = PyObject_CallMethod(mod, "format_exception", "O",
                                    value ? value : Py_None);
    if (lines != NULL)
        sep = PyUnicode_FromString("");
    if (sep != NULL)
        text = PyUnicode_Join(sep, lines);
    const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
    if (s != NULL)
        cfh__fail("%s:\n%s", what, s);
    else
        cfh__fail("%s: %s (traceback unavailable)", what,
                  ((PyTypeObject *)type)->tp_name);
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(sep);
    Py_XDECREF(lines);
    Py_XDECREF(mod);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return -1;
}

long cfh__scale(void)
{
    const char *s = getenv("CFUSER_HARNESS_SCALE");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v >= 1 ? v : 1;
}

static cfh_allocator allocator_from_env(cfh_allocator chosen)
{
    const char *s = getenv("CFUSER_HARNESS_ALLOCATOR");
    if (s == NULL || *s == '\0')
        return chosen == CFH_ALLOC_BUILD ? CFH_BUILD_ALLOCATOR : chosen;
    if (strcmp(s, "malloc") == 0) return CFH_ALLOC_MALLOC;
    if (strcmp(s, "pymalloc") == 0) return CFH_ALLOC_PYMALLOC;
    if (strcmp(s, "debug") == 0) return CFH_ALLOC_DEBUG;
    if (strcmp(s, "malloc_debug") == 0) return CFH_ALLOC_MALLOC_DEBUG;
    return CFH_BUILD_ALLOCATOR;
}

static int pymem_allocator(cfh_allocator a)
{
    switch (a) {
    case CFH_ALLOC_MALLOC: return PYMEM_ALLOCATOR_MALLOC;
    case CFH_ALLOC_DEBUG: return PYMEM_ALLOCATOR_DEBUG;
    case CFH_ALLOC_MALLOC_DEBUG: return PYMEM_ALLOCATOR_MALLOC_DEBUG;
    default: return PYMEM_ALLOCATOR_PYMALLOC;
    }
}

static int status_fail(const char *what, PyStatus st)
{
    return cfh__fail("%s: %s%s%s", what, st.func ? st.func : "",
                     st.func ? ": " : "", st.err_msg ? st.err_msg : "exit");
}

/* faulthandler on for crashes, and SIGUSR2 dumps every thread (the
 * watchdog raises it before exiting). */
static int enable_faulthandler(void)
{
    PyObject *fh = PyImport_ImportModule("faulthandler");
    if (fh == NULL)
        return cfh__fail_py("import faulthandler");
    PyObject *r = PyObject_CallMethod(fh, "enable", "");
    if (r != NULL) {
        Py_DECREF(r);
        r = PyObject_CallMethod(fh, "register", "ii", SIGUSR2, 1);
    }
    Py_DECREF(fh);
    if (r == NULL)
        return cfh__fail_py("faulthandler.enable/register");
    Py_DECREF(r);
    return 0;
}

/* Isolated mode ignores PYTHONPATH-like settings, so the package dirs (a
 * ':'-separated list, in order) go in front of sys.path here. */
int cfh__prepend_path(const char *dirs)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    Py_ssize_t at = 0;
    while (*dirs != '\0') {
        size_t n = strcspn(dirs, ":");
        if (n > 0) {
            PyObject *d = PyUnicode_DecodeFSDefaultAndSize(dirs, (Py_ssize_t)n);
            int rc = path && d ? PyList_Insert(path, at++, d) : -1;
            Py_XDECREF(d);
            if (rc < 0)
                return cfh__fail_py("sys.path.insert");
        }
        dirs += n + (dirs[n] == ':');
    }
    return 0;
}

/* Children the suites start with sys.executable (isolated neither from the
 * environment nor from site) must import the same module: put the module's
 * directory at the front of PYTHONPATH once, before os.environ is read. The
 * embedded interpreter itself is isolated and ignores the variable. */
static int export_pythonpath(const char *dir)
{
    static char buf[8192];
    const char *old = getenv("PYTHONPATH");
    size_t n = strlen(dir);
    if (dir[0] == '\0')
        return 0;
    if (old != NULL && strncmp(old, dir, n) == 0 && (old[n] == '\0' || old[n] == ':'))
        return 0;
    if (old != NULL && old[0] != '\0')
        snprintf(buf, sizeof buf, "%s:%s", dir, old);
    else
        snprintf(buf, sizeof buf, "%s", dir);
    return setenv("PYTHONPATH", buf, 1) == 0 ? 0 : cfh__fail("setenv(PYTHONPATH) failed");
}

const char *cfh__default_pythonpath(void)
{
    const char *pp = getenv("CFUSER_PYTHONPATH");
    return pp ? pp : CFH_PYTHONPATH_DEFAULT;
}

/* The reference counts of a debug interpreter are only right when this
 * code was compiled with its headers: built against release headers, each
 * Py_DECREF here goes uncounted and every refleak loop reports a leak. */
static int check_ref_counting(void)
{
#ifdef Py_REF_DEBUG
    const int compiled_counting = 1;
#else
    const int compiled_counting = 0;
#endif
    int interpreter_counting = PySys_GetObject("gettotalrefcount") != NULL;
    if (interpreter_counting != compiled_counting)
        return cfh__fail("the harness was compiled %s Py_REF_DEBUG but runs an interpreter %s "
                         "sys.gettotalrefcount: build it against the headers of the Python it embeds",
                         compiled_counting ? "with" : "without", interpreter_counting ? "with" : "without");
    return 0;
}

PyStatus cfh__isolated_config(PyConfig *cfg)
{
    PyStatus st = PyStatus_Ok();
    PyConfig_InitIsolatedConfig(cfg);
    if (CFH_PYTHON_HOME[0] != '\0')
        st = PyConfig_SetBytesString(cfg, &cfg->home, CFH_PYTHON_HOME);
    /* sys.executable: the Python this build found, so that code spawning
     * "sys.executable -c ..." (subprocess, multiprocessing) runs Python and
     * not the embedding program, whose name is not on PATH anyway. */
    if (!PyStatus_Exception(st) && CFH_PYTHON_EXECUTABLE[0] != '\0')
        st = PyConfig_SetBytesString(cfg, &cfg->executable, CFH_PYTHON_EXECUTABLE);
    return st;
}

int cfh_init(void)
{
    cfh_options o = {0};
    return cfh_init_with(&o);
}

int cfh_init_with(const cfh_options *opt)
{
    PyStatus st;
    PyPreConfig pre;
    PyConfig cfg;
    static const char *const default_argv[] = {"cfharness"};

    if (g_initialized)
        return cfh__fail("cfh_init: the interpreter is already initialised");
    const char *pp = opt->pythonpath;
    if (pp == NULL) pp = cfh__default_pythonpath();
    snprintf(g_pythonpath, sizeof g_pythonpath, "%s", pp);
    if (export_pythonpath(g_pythonpath) < 0)
        return -1;

    PyPreConfig_InitIsolatedConfig(&pre);
    pre.allocator = pymem_allocator(allocator_from_env(opt->allocator));
    pre.utf8_mode = 1; /* LANG=C must not change how files are read */
    st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st))
        return status_fail("Py_PreInitialize", st);

    if (PyImport_AppendInittab("_cfharness", cfh__pymod_init) < 0)
        return cfh__fail("PyImport_AppendInittab(_cfharness) failed");

    st = cfh__isolated_config(&cfg);
    if (PyStatus_Exception(st)) goto fail;
    cfg.faulthandler = 0; /* enabled below, with the watchdog's signal */
    if (opt->argc > 0 && opt->argv != NULL)
        st = PyConfig_SetBytesArgv(&cfg, opt->argc, (char *const *)opt->argv);
    else
        st = PyConfig_SetBytesArgv(&cfg, 1, (char *const *)default_argv);
    if (PyStatus_Exception(st)) goto fail;
    st = Py_InitializeFromConfig(&cfg);
    if (PyStatus_Exception(st)) goto fail;
    PyConfig_Clear(&cfg);
    g_initialized = 1;

    if (check_ref_counting() < 0 || cfh__alloc_install() < 0 || cfh__prepend_path(g_pythonpath) < 0
        || enable_faulthandler() < 0)
        return -1;
    if (cfh_instrumented() == 2)
        (void)cfh_leak_check(); /* valgrind: start counting from here */
    return 0;

fail:
    PyConfig_Clear(&cfg);
    return status_fail("Py_InitializeFromConfig", st);
}

int cfh_fini(void)
{
    if (!g_initialized)
        return cfh__fail("cfh_fini: the interpreter is not initialised");
    cfh_watchdog_stop();
    cfh__run_clear();
    g_initialized = 0;
    if (Py_FinalizeEx() < 0)
        return cfh__fail("Py_FinalizeEx failed (flushing stdout/stderr or "
                         "an atexit handler failed)");
    return 0;
}
