/* limited_cost.h - the per-call cost model of Py_LIMITED_API >= 3.12 (the
 * first with vectorcall in the limited API), for perf/abi3/measure.sh.
 *
 * _C does not build against the limited API as it stands (see README.md,
 * "Stable ABI"), so this measures what the port would cost per call: it is
 * force-included into the bindings' sources (not core's) and turns the
 * inline forms the limited API hides into the exported functions it offers
 * instead:
 *   - reference counts: under Py_LIMITED_API >= 0x030C0000, Py_INCREF and
 *     Py_DECREF are calls to _Py_IncRef / _Py_DecRef (CPython object.h);
 *   - tuple and list items and sizes, float values: PyTuple_GetItem,
 *     PyList_GetItem, PyTuple_Size, PyFloat_AsDouble, ... (checked calls).
 * Not modelled (so the figure is a lower bound): type slots read through
 * PyType_GetSlot instead of the PyTypeObject fields, and PySequence_Fast,
 * which the limited API lacks, in the one sequence routine.
 */
#ifndef CFUSER_LIMITED_COST_H
#define CFUSER_LIMITED_COST_H
#if !defined(CFUSER_BUILDING) && __has_include(<Python.h>) /* not core, not configure checks */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#undef Py_INCREF
#undef Py_DECREF
#undef Py_XINCREF
#undef Py_XDECREF
#undef Py_NewRef
#undef Py_XNewRef
#define Py_INCREF(op) _Py_IncRef(_PyObject_CAST(op))
#define Py_DECREF(op) _Py_DecRef(_PyObject_CAST(op))
#define Py_XINCREF(op) Py_IncRef(_PyObject_CAST(op))
#define Py_XDECREF(op) Py_DecRef(_PyObject_CAST(op))
#define Py_NewRef(op) (_Py_IncRef(_PyObject_CAST(op)), _PyObject_CAST(op))
#define Py_XNewRef(op) (Py_IncRef(_PyObject_CAST(op)), _PyObject_CAST(op))

#undef PyTuple_GET_ITEM
#undef PyTuple_GET_SIZE
#undef PyTuple_SET_ITEM
#undef PyList_GET_ITEM
#undef PyList_GET_SIZE
#undef PyList_SET_ITEM
#undef PyFloat_AS_DOUBLE
#define PyTuple_GET_ITEM(t, i) PyTuple_GetItem(_PyObject_CAST(t), (i))
#define PyTuple_GET_SIZE(t) PyTuple_Size(_PyObject_CAST(t))
#define PyTuple_SET_ITEM(t, i, v) ((void)PyTuple_SetItem(_PyObject_CAST(t), (i), _PyObject_CAST(v)))
#define PyList_GET_ITEM(l, i) PyList_GetItem(_PyObject_CAST(l), (i))
#define PyList_GET_SIZE(l) PyList_Size(_PyObject_CAST(l))
#define PyList_SET_ITEM(l, i, v) ((void)PyList_SetItem(_PyObject_CAST(l), (i), _PyObject_CAST(v)))
#define PyFloat_AS_DOUBLE(o) PyFloat_AsDouble(_PyObject_CAST(o))
#endif
#endif
