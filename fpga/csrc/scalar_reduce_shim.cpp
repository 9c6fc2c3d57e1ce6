// C-ABI wrapper around the Verilator model of fpga/rtl/scalar_reduce.v.
#include <cstdint>

#include "Vscalar_reduce.h"
#include "verilated.h"
#include "wide.h"

namespace {
struct Model {
    VerilatedContext ctx;
    Vscalar_reduce* top;
    Model() : top(new Vscalar_reduce(&ctx)) {}
    ~Model() {
        top->final();
        delete top;
    }
};
Vscalar_reduce* top(void* m) { return static_cast<Model*>(m)->top; }
}  // namespace

extern "C" {
void* rampart_scalar_reduce_new() { return new Model(); }
void rampart_scalar_reduce_free(void* m) { delete static_cast<Model*>(m); }
void rampart_scalar_reduce_set_rst(void* m, uint8_t v) { top(m)->rst = v & 1; }
void rampart_scalar_reduce_set_start(void* m, uint8_t v) { top(m)->start = v & 1; }
// Word i (0..8) of the 512-bit x port.
void rampart_scalar_reduce_set_x_word(void* m, uint32_t i, uint64_t v) {
    rampart::set_wide(top(m)->x, 512, i, v);
}
// Word i (0..4) of the 256-bit s port.
void rampart_scalar_reduce_set_s_word(void* m, uint32_t i, uint64_t v) {
    rampart::set_wide(top(m)->s, 256, i, v);
}
uint8_t rampart_scalar_reduce_busy(void* m) { return top(m)->busy; }
uint8_t rampart_scalar_reduce_done(void* m) { return top(m)->done; }
uint8_t rampart_scalar_reduce_s_ok(void* m) { return top(m)->s_ok; }
// Word i (0..4) of the 253-bit r port.
uint64_t rampart_scalar_reduce_r_word(void* m, uint32_t i) {
    return rampart::get_wide(top(m)->r, i);
}
void rampart_scalar_reduce_eval(void* m) { top(m)->eval(); }
void rampart_scalar_reduce_tick(void* m) {
    Vscalar_reduce* t = top(m);
    t->clk = 0;
    t->eval();
    t->clk = 1;
    t->eval();
}
}  // extern "C"
