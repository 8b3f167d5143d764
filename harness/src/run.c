/* run.c - running Python source, files, functions and pytest embedded. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CFH_SNIPPET_DIR
#define CFH_SNIPPET_DIR "."
#endif

static PyObject *g_ns; /* the namespace cfh_load filled */

PyObject *cfh__namespace(void) { return g_ns; }

void cfh__run_clear(void) { Py_CLEAR(g_ns); }

const char *cfh_snippet_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("CFUSER_HARNESS_SNIPPETS");
    if (name[0] == '/')
        snprintf(buf, sizeof buf, "%s", name);
    else
        snprintf(buf, sizeof buf, "%s/%s", dir ? dir : CFH_SNIPPET_DIR, name);
    return buf;
}

static PyObject *new_namespace(const char *file)
{
    PyObject *ns = PyDict_New();
    if (ns == NULL)
        return NULL;
    PyObject *name = PyUnicode_FromString("__main__");
    PyObject *f = file ? PyUnicode_DecodeFSDefault(file) : NULL;
    if (name == NULL || (file && f == NULL)
        || PyDict_SetItemString(ns, "__name__", name) < 0
        || PyDict_SetItemString(ns, "__builtins__", PyEval_GetBuiltins()) < 0
        || (f && PyDict_SetItemString(ns, "__file__", f) < 0)) {
        Py_XDECREF(name);
        Py_XDECREF(f);
        Py_DECREF(ns);
        return NULL;
    }
    Py_DECREF(name);
    Py_XDECREF(f);
    return ns;
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0
        && fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
        if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(fp);
    return buf;
}

/* Compile source under filename (so tracebacks show lines) and run it. */
static int exec_in(PyObject *ns, const char *source, const char *filename)
{
    PyObject *code = Py_CompileString(source, filename, Py_file_input);
    if (code == NULL)
        return cfh__fail_py(filename);
    PyObject *r = PyEval_EvalCode(code, ns, ns);
    Py_DECREF(code);
    if (r == NULL)
        return cfh__fail_py(filename);
    Py_DECREF(r);
    return 0;
}

int cfh_run(const char *source)
{
    PyObject *ns = new_namespace(NULL);
    if (ns == NULL)
        return cfh__fail_py("cfh_run: namespace");
    int rc = exec_in(ns, source, "<snippet>");
    Py_DECREF(ns);
    return rc;
}

static int load_into(const char *path, PyObject **nsp)
{
    const char *full = cfh_snippet_path(path);
    char *src = read_file(full);
    if (src == NULL)
        return cfh__fail("cannot read %s", full);
    PyObject *ns = new_namespace(full);
    if (ns == NULL) {
        free(src);
        return cfh__fail_py("namespace");
    }
    int rc = exec_in(ns, src, full);
    free(src);
    if (rc < 0) {
        Py_DECREF(ns);
        return -1;
    }
    *nsp = ns;
    return 0;
}

int cfh_run_file(const char *path)
{
    PyObject *ns = NULL;
    int rc = load_into(path, &ns);
    Py_XDECREF(ns);
    return rc;
}

int cfh_load(const char *path)
{
    PyObject *ns = NULL;
    if (load_into(path, &ns) < 0)
        return -1;
    Py_XSETREF(g_ns, ns);
    return 0;
}

PyObject *cfh__lookup(const char *name)
{
    if (g_ns == NULL) {
        cfh__fail("%s: no file loaded (cfh_load)", name);
        return NULL;
    }
    PyObject *f = PyDict_GetItemString(g_ns, name); /* borrowed */
    if (f == NULL) {
        cfh__fail("%s is not defined in the loaded file", name);
        return NULL;
    }
    Py_INCREF(f);
    return f;
}

int cfh_call(const char *name)
{
    PyObject *f = cfh__lookup(name);
    if (f == NULL)
        return -1;
    PyObject *r = PyObject_CallNoArgs(f);
    Py_DECREF(f);
    if (r == NULL)
        return cfh__fail_py(name);
    int ok = r == Py_None || PyObject_IsTrue(r) == 1;
    PyObject *rep = ok ? NULL : PyObject_Repr(r);
    Py_DECREF(r);
    if (!ok) {
        const char *s = rep ? PyUnicode_AsUTF8(rep) : NULL;
        cfh__fail("%s() returned %s (expected None or a true value)", name,
                  s ? s : "?");
        Py_XDECREF(rep);
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static PyObject *eval(const char *expr)
{
    PyObject *ns = g_ns;
    PyObject *tmp = NULL;
    if (ns == NULL && (ns = tmp = new_namespace(NULL)) == NULL) {
        cfh__fail_py("eval: namespace");
        return NULL;
    }
    PyObject *r = PyRun_String(expr, Py_eval_input, ns, ns);
    Py_XDECREF(tmp);
    if (r == NULL)
        cfh__fail_py(expr);
    return r;
}

int cfh_eval_long(const char *expr, long long *out)
{
    PyObject *r = eval(expr);
    if (r == NULL)
        return -1;
    long long v = PyLong_AsLongLong(r);
    Py_DECREF(r);
    if (v == -1 && PyErr_Occurred())
        return cfh__fail_py(expr);
    *out = v;
    return 0;
}

int cfh_eval_str(const char *expr, char *buf, size_t cap)
{
    PyObject *r = eval(expr);
    if (r == NULL)
        return -1;
    PyObject *s = PyObject_Str(r);
    Py_DECREF(r);
    const char *u = s ? PyUnicode_AsUTF8(s) : NULL;
    if (u == NULL) {
        Py_XDECREF(s);
        return cfh__fail_py(expr);
    }
    snprintf(buf, cap, "%s", u);
    Py_DECREF(s);
    return 0;
}

/* pytest.main in this interpreter: -p no:cacheprovider keeps the tree
 * clean, and the rootdir is the file's directory. */
int cfh_pytest(const char *path, const char *extra_args, int *exit_code)
{
    static const char driver[] =
        "import pytest, shlex\n"
        "_rc = int(pytest.main([_path, '-q', '-p', 'no:cacheprovider']"
        " + shlex.split(_extra)))\n";
    PyObject *ns = new_namespace(NULL);
    PyObject *p = PyUnicode_DecodeFSDefault(cfh_snippet_path(path));
    PyObject *e = PyUnicode_FromString(extra_args ? extra_args : "");
    int rc = -1;
    if (ns == NULL || p == NULL || e == NULL
        || PyDict_SetItemString(ns, "_path", p) < 0
        || PyDict_SetItemString(ns, "_extra", e) < 0) {
        rc = cfh__fail_py("cfh_pytest");
        goto done;
    }
    if (exec_in(ns, driver, "<pytest driver>") < 0)
        goto done;
    PyObject *v = PyDict_GetItemString(ns, "_rc"); /* borrowed */
    *exit_code = v ? (int)PyLong_AsLong(v) : -1;
    rc = 0;
done:
    Py_XDECREF(ns);
    Py_XDECREF(p);
    Py_XDECREF(e);
    return rc;
}
