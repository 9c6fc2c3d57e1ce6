// C-ABI wrapper around the Verilator model of fpga/rtl/engine.v (the verify
// engine without the front end), for its own testbench.
#include <cstdint>

#include "Vengine.h"
#include "verilated.h"
#include "wide.h"

namespace {
struct Model {
    VerilatedContext ctx;
    Vengine* top;
    Model() : top(new Vengine(&ctx)) {}
    ~Model() {
        top->final();
        delete top;
    }
};
Vengine* top(void* m) { return static_cast<Model*>(m)->top; }
}  // namespace

extern "C" {
void* rampart_engine_new() { return new Model(); }
void rampart_engine_free(void* m) { delete static_cast<Model*>(m); }
void rampart_engine_set_rst(void* m, uint8_t v) { top(m)->rst = v & 1; }
// Job fields; `which` selects the 255/253-bit port: 0 ya, 1 yr, 2 s, 3 k.
void rampart_engine_set_job_word(void* m, uint32_t which, uint32_t i, uint64_t v) {
    switch (which) {
        case 0: rampart::set_wide(top(m)->ld_ya, 255, i, v); break;
        case 1: rampart::set_wide(top(m)->ld_yr, 255, i, v); break;
        case 2: rampart::set_wide(top(m)->ld_s, 253, i, v); break;
        case 3: rampart::set_wide(top(m)->ld_k, 253, i, v); break;
        default: break;
    }
}
// Flags: bit 0 sign_a, 1 sign_r, 2 r_bad, 3 s_bad, 4 cofactored rule,
// 5 amended rule, 6 a_bad.
void rampart_engine_set_load(void* m, uint8_t valid, uint16_t tag, uint8_t flags) {
    Vengine* t = top(m);
    t->ld_valid = valid & 1;
    t->ld_tag = tag;
    t->ld_sign_a = flags & 1;
    t->ld_sign_r = (flags >> 1) & 1;
    t->ld_r_bad = (flags >> 2) & 1;
    t->ld_s_bad = (flags >> 3) & 1;
    t->ld_cof = (flags >> 4) & 1;
    t->ld_amended = (flags >> 5) & 1;
    t->ld_a_bad = (flags >> 6) & 1;
}
uint8_t rampart_engine_ld_free(void* m) { return top(m)->ld_free; }
uint8_t rampart_engine_rsp_valid(void* m) { return top(m)->rsp_valid; }
uint16_t rampart_engine_rsp_tag(void* m) { return top(m)->rsp_tag; }
uint8_t rampart_engine_rsp_code(void* m) { return top(m)->rsp_code; }
void rampart_engine_eval(void* m) { top(m)->eval(); }
void rampart_engine_tick(void* m) {
    Vengine* t = top(m);
    t->clk = 0;
    t->eval();
    t->clk = 1;
    t->eval();
}
}  // extern "C"
