// twin_graph.hpp - the tiny "compiler" both binding twins wrap.
//
// The twins exist to price the binding layer, so the C++ side does as little
// as cfuser's core does for the same calls: append a node to an arena, look
// one up, copy a shape, add 1k-element tensors. Only the glue differs
// between the nanobind and the pybind11 twin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace twin {

// A graph owns its nodes by index, like cfuser's Fusion owns its IR arena.
struct Graph {
    struct NodeData {
        int32_t op;
        int32_t lhs;
        int32_t rhs;
    };
    std::vector<NodeData> nodes;

    int32_t add_input() {
        nodes.push_back({0, -1, -1});
        return static_cast<int32_t>(nodes.size() - 1);
    }
    int32_t add(int32_t lhs, int32_t rhs) {
        nodes.push_back({1, lhs, rhs});
        return static_cast<int32_t>(nodes.size() - 1);
    }
    // Forget everything but the inputs; benchmarks call it between batches so
    // the arena's growth does not enter the per-call figure.
    void truncate(std::size_t keep) {
        if (nodes.size() > keep)
            nodes.resize(keep);
    }
};

// out = sum of n_in inputs, for the "N tensors in" call shape.
inline void sum_inputs(const float *const *in, std::size_t n_in, float *out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        out[i] = 0.0f;
    for (std::size_t k = 0; k < n_in; ++k)
        for (std::size_t i = 0; i < n; ++i)
            out[i] += in[k][i];
}

}  // namespace twin
