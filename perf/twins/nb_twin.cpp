// nb_twin.cpp - the nanobind twin of cfuser's hot call shapes.
//
//   Graph.add(lhs, rhs) -> Node     new child that keeps the graph alive
//   Node.graph()/Node.definition()  accessor returning a keep-alive object
//   as_int64_list(seq) -> list      list-of-ints in, list out
//   execute([t...]) -> ndarray      N DLPack tensors in, one numpy array out
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <stdexcept>

#include "twin_graph.hpp"

namespace nb = nanobind;

namespace {

struct Node {
    twin::Graph *graph;
    int32_t id;
};

struct Expr {
    twin::Graph *graph;
    int32_t node;
};

using Input = nb::ndarray<const float, nb::c_contig, nb::device::cpu>;
using Output = nb::ndarray<nb::numpy, float, nb::ndim<1>>;

Output new_output(std::size_t n, float **data) {
    float *buf = new float[n];
    nb::capsule owner(buf, [](void *p) noexcept { delete[] static_cast<float *>(p); });
    *data = buf;
    return Output(buf, {n}, owner);
}

std::size_t common_size(const std::vector<Input> &ts) {
    if (ts.empty())
        throw nb::value_error("execute: expected at least one tensor");
    std::size_t n = ts[0].size();
    for (const Input &t : ts)
        if (t.size() != n)
            throw nb::value_error("execute: tensors differ in size");
    return n;
}

}  // namespace

NB_MODULE(_nb_twin, m) {
    nb::class_<twin::Graph>(m, "Graph")
        .def(nb::init<>())
        .def("define_input", [](twin::Graph &g) { return Node{&g, g.add_input()}; },
             nb::keep_alive<0, 1>())
        .def("add", [](twin::Graph &g, const Node &lhs, const Node &rhs) {
                 return Node{&g, g.add(lhs.id, rhs.id)};
             }, nb::arg("lhs"), nb::arg("rhs"), nb::keep_alive<0, 1>())
        .def("truncate", &twin::Graph::truncate)
        .def("__len__", [](const twin::Graph &g) { return g.nodes.size(); });

    nb::class_<Node>(m, "Node")
        .def("definition", [](const Node &n) { return Expr{n.graph, n.id}; },
             nb::keep_alive<0, 1>())
        .def_ro("id", &Node::id);

    nb::class_<Expr>(m, "Expr")
        .def_ro("node", &Expr::node);

    m.def("noop", []() {});
    m.def("as_int64_list", [](const std::vector<int64_t> &v) { return v; }, nb::arg("seq"));

    m.def("execute", [](const std::vector<Input> &ts) {
        std::size_t n = common_size(ts);
        std::vector<const float *> ptrs;
        ptrs.reserve(ts.size());
        for (const Input &t : ts)
            ptrs.push_back(t.data());
        float *out;
        Output o = new_output(n, &out);
        twin::sum_inputs(ptrs.data(), ptrs.size(), out, n);
        return o;
    }, nb::arg("inputs"));
}
