// pb_twin.cpp - the pybind11 twin of cfuser's hot call shapes (see
// nb_twin.cpp for the list). pybind11 has no DLPack caster, so tensors come
// in the way a pybind11 extension takes them: call __dlpack__(), take the
// "dltensor" capsule, rename it "used_dltensor", call the deleter when done.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

#include "twin_graph.hpp"

namespace py = pybind11;

namespace {

// The DLPack ABI (dlpack.h, unversioned): only what the twin reads.
struct DLDevice { int32_t device_type; int32_t device_id; };
struct DLDataType { uint8_t code; uint8_t bits; uint16_t lanes; };
struct DLTensor {
    void *data;
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t *shape;
    int64_t *strides;
    uint64_t byte_offset;
};
struct DLManagedTensor {
    DLTensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(DLManagedTensor *self);
};
constexpr int32_t kDLCPU = 1;
constexpr uint8_t kDLFloat = 2;

struct Node {
    twin::Graph *graph;
    int32_t id;
};

struct Expr {
    twin::Graph *graph;
    int32_t node;
};

// Borrowed view of one imported tensor; the deleter runs when it goes away.
class Imported {
public:
    explicit Imported(const py::handle &obj) {
        py::object cap = obj.attr("__dlpack__")();
        PyObject *c = cap.ptr();
        auto *mt = static_cast<DLManagedTensor *>(PyCapsule_GetPointer(c, "dltensor"));
        if (mt == nullptr)
            throw py::error_already_set();
        if (PyCapsule_SetName(c, "used_dltensor") != 0)
            throw py::error_already_set();
        managed_ = mt;
        const DLTensor &t = mt->dl_tensor;
        if (t.device.device_type != kDLCPU || t.dtype.code != kDLFloat || t.dtype.bits != 32 ||
            t.dtype.lanes != 1)
            throw py::type_error("execute: expected a float32 CPU tensor");
        size_ = 1;
        for (int32_t d = 0; d < t.ndim; ++d)
            size_ *= static_cast<std::size_t>(t.shape[d]);
        if (t.strides != nullptr && t.ndim > 0) {
            int64_t expect = 1;
            for (int32_t d = t.ndim - 1; d >= 0; --d) {
                if (t.shape[d] != 1 && t.strides[d] != expect)
                    throw py::value_error("execute: expected a contiguous tensor");
                expect *= t.shape[d];
            }
        }
        data_ = reinterpret_cast<const float *>(static_cast<const char *>(t.data) + t.byte_offset);
    }
    Imported(Imported &&o) noexcept : managed_(o.managed_), data_(o.data_), size_(o.size_) {
        o.managed_ = nullptr;
    }
    Imported(const Imported &) = delete;
    Imported &operator=(const Imported &) = delete;
    Imported &operator=(Imported &&) = delete;
    ~Imported() {
        if (managed_ != nullptr && managed_->deleter != nullptr)
            managed_->deleter(managed_);
    }
    const float *data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    DLManagedTensor *managed_ = nullptr;
    const float *data_ = nullptr;
    std::size_t size_ = 0;
};

std::vector<Imported> import_all(const py::sequence &seq) {
    std::vector<Imported> ts;
    ts.reserve(py::len(seq));
    for (py::handle h : seq)
        ts.emplace_back(h);
    if (ts.empty())
        throw py::value_error("execute: expected at least one tensor");
    for (const Imported &t : ts)
        if (t.size() != ts[0].size())
            throw py::value_error("execute: tensors differ in size");
    return ts;
}

}  // namespace

PYBIND11_MODULE(_pb_twin, m) {
    py::class_<twin::Graph>(m, "Graph")
        .def(py::init<>())
        .def("define_input", [](twin::Graph &g) { return Node{&g, g.add_input()}; },
             py::keep_alive<0, 1>())
        .def("add", [](twin::Graph &g, const Node &lhs, const Node &rhs) {
                 return Node{&g, g.add(lhs.id, rhs.id)};
             }, py::arg("lhs"), py::arg("rhs"), py::keep_alive<0, 1>())
        .def("truncate", &twin::Graph::truncate)
        .def("__len__", [](const twin::Graph &g) { return g.nodes.size(); });

    py::class_<Node>(m, "Node")
        .def("definition", [](const Node &n) { return Expr{n.graph, n.id}; },
             py::keep_alive<0, 1>())
        .def_readonly("id", &Node::id);

    py::class_<Expr>(m, "Expr")
        .def_readonly("node", &Expr::node);

    m.def("noop", []() {});
    m.def("as_int64_list", [](const std::vector<int64_t> &v) { return v; }, py::arg("seq"));

    m.def("execute", [](const py::sequence &seq) {
        std::vector<Imported> ts = import_all(seq);
        std::vector<const float *> ptrs;
        ptrs.reserve(ts.size());
        for (const Imported &t : ts)
            ptrs.push_back(t.data());
        py::array_t<float> out(static_cast<py::ssize_t>(ts[0].size()));
        twin::sum_inputs(ptrs.data(), ptrs.size(), out.mutable_data(), ts[0].size());
        return out;
    }, py::arg("inputs"));
}
