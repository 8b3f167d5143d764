/* ops_movement.h - the Python entries of ops_movement.c, listed in the
 * method table that ops.c includes (ops_defs.inc). */
#ifndef CFB_OPS_MOVEMENT_H
#define CFB_OPS_MOVEMENT_H

#include <Python.h>

PyObject *op_slice(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *op_pad(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *op_cat(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *op_select(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);

#endif
