// C-ABI wrapper around the Verilator model of fpga/rtl/fe_mul.v, so Rust can
// drive it without binding C++. The 255-bit ports are exposed as four 64-bit
// words: word 0 is bits [63:0] of the port, word 3 is bits [254:192].
#include <cstdint>

#include "Vfe_mul.h"
#include "verilated.h"

namespace {
struct FeMulModel {
    VerilatedContext ctx;
    Vfe_mul* top;
    FeMulModel() : top(new Vfe_mul(&ctx)) {}
    ~FeMulModel() {
        top->final();
        delete top;
    }
};

void set_word(VlWide<8>& port, uint32_t i, uint64_t v) {
    if (i >= 4) return;
    if (i == 3) v &= 0x7fffffffffffffffULL;  // the port is 255 bits wide
    port[2 * i] = static_cast<uint32_t>(v);
    port[2 * i + 1] = static_cast<uint32_t>(v >> 32);
}
}  // namespace

extern "C" {

void* rampart_fe_mul_new() { return new FeMulModel(); }

void rampart_fe_mul_free(void* m) { delete static_cast<FeMulModel*>(m); }

static Vfe_mul* top(void* m) { return static_cast<FeMulModel*>(m)->top; }

void rampart_fe_mul_set_rst(void* m, uint8_t v) { top(m)->rst = v & 1; }
void rampart_fe_mul_set_in_valid(void* m, uint8_t v) { top(m)->in_valid = v & 1; }

// Sets 64-bit word `i` (0..4) of the `a` / `b` ports.
void rampart_fe_mul_set_a_word(void* m, uint32_t i, uint64_t v) { set_word(top(m)->a, i, v); }
void rampart_fe_mul_set_b_word(void* m, uint32_t i, uint64_t v) { set_word(top(m)->b, i, v); }

uint8_t rampart_fe_mul_out_valid(void* m) { return top(m)->out_valid; }

// Reads 64-bit word `i` (0..4) of the `r` port.
uint64_t rampart_fe_mul_r_word(void* m, uint32_t i) {
    if (i >= 4) return 0;
    return static_cast<uint64_t>(top(m)->r[2 * i]) |
           (static_cast<uint64_t>(top(m)->r[2 * i + 1]) << 32);
}

// Settles combinational logic after input changes.
void rampart_fe_mul_eval(void* m) { top(m)->eval(); }

// One full clock cycle: falling then rising edge.
void rampart_fe_mul_tick(void* m) {
    Vfe_mul* t = top(m);
    t->clk = 0;
    t->eval();
    t->clk = 1;
    t->eval();
}

}  // extern "C"
