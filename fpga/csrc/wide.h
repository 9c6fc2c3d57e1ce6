// Helpers shared by the C-ABI shims: 64-bit word access to Verilator's wide
// ports (arrays of 32-bit words, least significant first).
#pragma once
#include <cstdint>

#include "verilated.h"

namespace rampart {

// Sets 64-bit word `i` of a `bits`-wide port; out-of-range words are ignored
// and bits above the port width are cleared.
template <std::size_t N>
inline void set_wide(VlWide<N>& port, uint32_t bits, uint32_t i, uint64_t v) {
    if (i * 64 >= bits) return;
    uint32_t top = bits - i * 64;
    if (top < 64) v &= (uint64_t{1} << top) - 1;
    port[2 * i] = static_cast<uint32_t>(v);
    if (2 * i + 1 < N) port[2 * i + 1] = static_cast<uint32_t>(v >> 32);
}

// Reads 64-bit word `i` of a wide port (0 past the end).
template <std::size_t N>
inline uint64_t get_wide(const VlWide<N>& port, uint32_t i) {
    if (2 * i >= N) return 0;
    uint64_t lo = port[2 * i];
    uint64_t hi = (2 * i + 1 < N) ? port[2 * i + 1] : 0;
    return lo | (hi << 32);
}

}  // namespace rampart
