/* ops_scan.h - the Python entries of the scans, sorts and welford
 * (ops_scan.c), called by the entries ops_defs.inc generates from their
 * registry rows (impl = "cfb_scan_op", "cfb_argsort", ...). */
#ifndef CFUSER_BINDINGS_OPS_SCAN_H
#define CFUSER_BINDINGS_OPS_SCAN_H

#include "module.h"

/* cumsum, cumprod, cummin, cummax (op) */
PyObject *cfb_scan_op(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *cfb_argsort(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *cfb_topk(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *cfb_welford(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);

#endif
