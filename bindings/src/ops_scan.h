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

/* From ops.c: the tensor argument 'arg' of a non-elementwise op (checks
 * that it is a value of the active fusion), and a dims-like int list. */
int cfb_op_tensor_arg(cfb_state *st, const char *fname, PyObject *o, FusionObject **fo, cf_id *id);
int cfb_op_int_list(cfb_state *st, PyObject *o, const char *fname, const char *argname, int64_t *buf, int *n);

#endif
