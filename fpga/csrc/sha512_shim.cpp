// C-ABI wrapper around the Verilator model of fpga/rtl/sha512.v, so Rust can
// drive it without binding C++. Wide ports are exposed as 64-bit words:
// word 0 is bits [63:0] of the port.
#include <cstdint>

#include "Vsha512.h"
#include "verilated.h"

namespace {
struct Sha512Model {
    VerilatedContext ctx;
    Vsha512* top;
    Sha512Model() : top(new Vsha512(&ctx)) {}
    ~Sha512Model() {
        top->final();
        delete top;
    }
};
}  // namespace

extern "C" {

void* rampart_sha512_new() { return new Sha512Model(); }

void rampart_sha512_free(void* m) { delete static_cast<Sha512Model*>(m); }

static Vsha512* top(void* m) { return static_cast<Sha512Model*>(m)->top; }

void rampart_sha512_set_rst(void* m, uint8_t v) { top(m)->rst = v & 1; }
void rampart_sha512_set_in_valid(void* m, uint8_t v) { top(m)->in_valid = v & 1; }
void rampart_sha512_set_first(void* m, uint8_t v) { top(m)->first = v & 1; }

// Sets 64-bit word `i` (0..16) of the 1024-bit `block` port.
void rampart_sha512_set_block_word(void* m, uint32_t i, uint64_t v) {
    if (i >= 16) return;
    top(m)->block[2 * i] = static_cast<uint32_t>(v);
    top(m)->block[2 * i + 1] = static_cast<uint32_t>(v >> 32);
}

uint8_t rampart_sha512_in_ready(void* m) { return top(m)->in_ready; }
uint8_t rampart_sha512_digest_valid(void* m) { return top(m)->digest_valid; }

// Reads 64-bit word `i` (0..8) of the 512-bit `digest` port.
uint64_t rampart_sha512_digest_word(void* m, uint32_t i) {
    if (i >= 8) return 0;
    return static_cast<uint64_t>(top(m)->digest[2 * i]) |
           (static_cast<uint64_t>(top(m)->digest[2 * i + 1]) << 32);
}

// Settles combinational logic after input changes.
void rampart_sha512_eval(void* m) { top(m)->eval(); }

// One full clock cycle: falling then rising edge.
void rampart_sha512_tick(void* m) {
    Vsha512* t = top(m);
    t->clk = 0;
    t->eval();
    t->clk = 1;
    t->eval();
}

}  // extern "C"
