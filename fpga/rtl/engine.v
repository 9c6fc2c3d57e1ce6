// The ed25519 verify engine: 16 barrel-scheduled contexts running the
// microcode in microcode.hex around one pipelined field multiplier.
//
// Each clock the context whose turn it is (slot = cycle mod 16) issues one
// micro-instruction (see fpga/src/microcode/isa.rs for the encoding): two
// pre-adders (pass / + / − mod p), whose results may be written to banks P
// and Q and feed the multiplier, whose product is written to bank M; a flag
// update; and a control op (jump, branch on the flag, dispatch on the
// current two-bit digits of S and k, window loop, finish with a result
// code). A job carries its rule: strict, or cofactored (zip215, amended).
// A context's next instruction issues 16 clocks after its previous one,
// longer than the whole pipeline (fetch, decode/read, operand select, two
// pre-adder stages, 7 multiplier stages, write), so there are no hazards to
// check and no stalls: with all contexts busy the multiplier takes one
// operand pair per clock.
//
// Pipeline for an instruction fetched at clock c:
//   c     F: ROM read at pc[ctx]
//   c+1   D: decode, control op, pc/window/active update, register reads
//   c+2   R: operand select from the banks
//   c+3   O: pre-adders, raw sum / difference
//   c+4   S: pre-adders, correction by p
//   c+5   P: P/Q writes, flag computed, multiplier accept
//   c+6      flag written
//   c+12     multiplier result, M write
//
// Register banks per context: M, P, Q (32 x 255 bits each, one write port,
// four read ports) and C: 30 shared constants (consts.hex) plus the
// context's y of A (C[30]) and y of R (C[31]).
//
// Loading (ld_valid, taken on the clock it is high; the caller guarantees a
// free context, e.g. by counting outstanding jobs) puts a job in the lowest
// free context. A finishing context pulses rsp_valid with its tag and code.
//
// Reset is synchronous and active high.

`ifndef RAMPART_ROM_HEX
`define RAMPART_ROM_HEX "microcode.hex"
`endif
`ifndef RAMPART_CONSTS_HEX
`define RAMPART_CONSTS_HEX "consts.hex"
`endif

module engine (
    input  wire         clk,
    input  wire         rst,
    // job load
    input  wire         ld_valid,
    input  wire [15:0]  ld_tag,
    input  wire [254:0] ld_ya,
    input  wire [254:0] ld_yr,
    input  wire         ld_sign_a,
    input  wire         ld_sign_r,
    input  wire         ld_r_bad,
    input  wire         ld_s_bad,
    input  wire         ld_cof,
    input  wire         ld_amended,
    input  wire         ld_a_bad,
    input  wire [252:0] ld_s,
    input  wire [252:0] ld_k,
    output wire         ld_free,
    // completion
    output reg          rsp_valid,
    output reg  [15:0]  rsp_tag,
    output reg  [2:0]   rsp_code,
    // activity (for cycle accounting)
    output wire         mul_busy
);

    localparam integer CTX = 16;
    localparam integer CW  = 4;    // context index width
    localparam integer RW  = 5;    // register index width
    localparam integer AW  = CW + RW;
    localparam integer PCW = 11;

    localparam [1:0] B_M = 2'd0, B_P = 2'd1, B_Q = 2'd2;

    localparam [254:0] P = {250'h3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff, 5'b01101};

    // ---------------- microcode and constants ----------------
    reg [71:0]  rom  [0:(1<<PCW)-1];
    reg [254:0] crom [0:31];
    integer ci;
    initial begin
        for (ci = 0; ci < 32; ci = ci + 1) crom[ci] = 255'd0;
        $readmemh(`RAMPART_ROM_HEX, rom);
        $readmemh(`RAMPART_CONSTS_HEX, crom, 0, 29);
    end

    // ---------------- per-context state ----------------
    reg [CTX-1:0] active;
    reg [PCW-1:0] pc     [0:CTX-1];
    reg [6:0]     win    [0:CTX-1];
    reg [CTX-1:0] flag;
    reg [CTX-1:0] sign_a;
    reg [CTX-1:0] sign_r;
    reg [CTX-1:0] r_bad;
    reg [CTX-1:0] s_bad;
    reg [CTX-1:0] cof;       // cofactored rule (zip215 or amended)
    reg [CTX-1:0] amended;   // amended zip215
    reg [CTX-1:0] a_bad;     // A's y was >= p
    reg [15:0]    tag    [0:CTX-1];
    // Scalars with a zero bit 253, so window 126 reads bits 253:252.
    reg [253:0]   s_mem  [0:CTX-1];
    reg [253:0]   k_mem  [0:CTX-1];

    // Lowest free context: isolate the lowest set bit of ~active
    // (x & -x, a 16-bit carry chain) and encode it.
    wire [CTX-1:0] free_vec = ~active;
    wire [CTX-1:0] lowest   = free_vec & (~free_vec + 1'b1);
    wire           any_free = |free_vec;
    reg  [CW-1:0]  free_ctx;
    integer fi;
    always @(*) begin
        free_ctx = {CW{1'b0}};
        for (fi = 0; fi < CTX; fi = fi + 1)
            if (lowest[fi]) free_ctx = free_ctx | fi[CW-1:0];
    end
    assign ld_free = any_free;

    // ---------------- F: fetch ----------------
    reg [CW-1:0] slot;
    // ROM words are 72 bits; bit 71 is always zero.
    /* verilator lint_off UNUSEDSIGNAL */
    reg [71:0]   d_ins;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [CW-1:0] d_ctx;
    reg          d_valid;

    always @(posedge clk) begin
        if (rst) begin
            slot    <= {CW{1'b0}};
            d_valid <= 1'b0;
        end else begin
            slot    <= slot + 1'b1;
            d_valid <= active[slot];
        end
        d_ins <= rom[pc[slot]];
        d_ctx <= slot;
    end

    // ---------------- D: decode, control, register reads ----------------
    wire [1:0]  pa_op  = d_ins[1:0];
    wire [6:0]  ra     = d_ins[8:2];
    wire [6:0]  rb     = d_ins[15:9];
    wire [1:0]  pb_op  = d_ins[17:16];
    wire [6:0]  rc     = d_ins[24:18];
    wire [6:0]  rd     = d_ins[31:25];
    wire        wa_en  = d_ins[32];
    wire [4:0]  wa     = d_ins[37:33];
    wire        wb_en  = d_ins[38];
    wire [4:0]  wb     = d_ins[43:39];
    wire        m_en   = d_ins[44];
    wire [4:0]  md     = d_ins[49:45];
    wire [1:0]  cond   = d_ins[51:50];
    wire [3:0]  fop    = {d_ins[69], d_ins[54:52]};
    wire [3:0]  ctrl   = {d_ins[70], d_ins[57:55]};
    wire [10:0] target = d_ins[68:58];

    wire        f_now  = flag[d_ctx];
    wire [6:0]  w_now  = win[d_ctx];
    wire [1:0]  s_dig  = s_mem[d_ctx][{w_now, 1'b0} +: 2];
    wire [1:0]  k_dig  = k_mem[d_ctx][{w_now, 1'b0} +: 2];
    wire [3:0]  digit  = {s_dig, k_dig};

    reg         done_now;
    reg [PCW-1:0] next_pc;
    reg         loop_dec;
    always @(*) begin
        done_now = 1'b0;
        loop_dec = 1'b0;
        next_pc  = pc[d_ctx] + 1'b1;
        case (ctrl)
            4'd1: next_pc = target;
            4'd2: next_pc = target + {3'd0, digit, 4'd0};
            4'd3: if (w_now != 7'd0) begin
                      next_pc  = target;
                      loop_dec = 1'b1;
                  end
            4'd4: done_now = 1'b1;
            4'd5: done_now = f_now;
            4'd6: done_now = !f_now;
            4'd7: if (f_now) next_pc = target;
            4'd8: if (!f_now) next_pc = target;
            default: ;
        endcase
    end

    wire live     = d_valid && !done_now;
    wire cond_ok  = (cond == 2'd0) || (cond == 2'd1 && f_now) || (cond == 2'd2 && !f_now);
    wire wr_ok    = live && cond_ok;

    always @(posedge clk) begin
        rsp_valid <= 1'b0;
        if (rst) begin
            active <= {CTX{1'b0}};
        end else begin
            if (d_valid) begin
                pc[d_ctx] <= next_pc;
                if (loop_dec) win[d_ctx] <= w_now - 7'd1;
                if (done_now) begin
                    active[d_ctx] <= 1'b0;
                    rsp_valid     <= 1'b1;
                    rsp_tag       <= tag[d_ctx];
                    rsp_code      <= target[2:0];
                end
            end
            if (ld_valid && any_free) begin
                active[free_ctx] <= 1'b1;
                pc[free_ctx]     <= {PCW{1'b0}};
                win[free_ctx]    <= 7'd126;
                tag[free_ctx]    <= ld_tag;
                sign_a[free_ctx] <= ld_sign_a;
                sign_r[free_ctx] <= ld_sign_r;
                r_bad[free_ctx]  <= ld_r_bad;
                s_bad[free_ctx]  <= ld_s_bad;
                cof[free_ctx]    <= ld_cof;
                amended[free_ctx] <= ld_amended;
                a_bad[free_ctx]  <= ld_a_bad;
                s_mem[free_ctx]  <= {1'b0, ld_s};
                k_mem[free_ctx]  <= {1'b0, ld_k};
            end
        end
    end

    // Register reads: every bank gets the same address on a port; stage R
    // picks the bank.
    wire [AW-1:0] ra_addr = {d_ctx, ra[4:0]};
    wire [AW-1:0] rb_addr = {d_ctx, rb[4:0]};
    wire [AW-1:0] rc_addr = {d_ctx, rc[4:0]};
    wire [AW-1:0] rd_addr = {d_ctx, rd[4:0]};

    wire [254:0] m_rd0, m_rd1, m_rd2, m_rd3;
    wire [254:0] p_rd0, p_rd1, p_rd2, p_rd3;
    wire [254:0] q_rd0, q_rd1, q_rd2, q_rd3;
    wire [254:0] ya_rd0, ya_rd1, ya_rd2, ya_rd3;
    wire [254:0] yr_rd0, yr_rd1, yr_rd2, yr_rd3;
    reg  [254:0] c_rd0, c_rd1, c_rd2, c_rd3;

    always @(posedge clk) begin
        c_rd0 <= crom[ra[4:0]];
        c_rd1 <= crom[rb[4:0]];
        c_rd2 <= crom[rc[4:0]];
        c_rd3 <= crom[rd[4:0]];
    end

    // Stage R registers.
    reg [CW-1:0] r_ctx;
    reg [1:0]    r_pa_op, r_pb_op;
    reg [6:0]    r_ra, r_rb, r_rc, r_rd;
    reg          r_wa_en, r_wb_en, r_m_en;
    reg [4:0]    r_wa, r_wb, r_md;
    reg [3:0]    r_fop;

    always @(posedge clk) begin
        r_ctx   <= d_ctx;
        r_pa_op <= pa_op;
        r_pb_op <= pb_op;
        r_ra    <= ra;
        r_rb    <= rb;
        r_rc    <= rc;
        r_rd    <= rd;
        r_wa    <= wa;
        r_wb    <= wb;
        r_md    <= md;
        if (rst) begin
            r_wa_en <= 1'b0;
            r_wb_en <= 1'b0;
            r_m_en  <= 1'b0;
            r_fop   <= 4'd0;
        end else begin
            r_wa_en <= wr_ok && wa_en;
            r_wb_en <= wr_ok && wb_en;
            r_m_en  <= wr_ok && m_en;
            r_fop   <= live ? fop : 4'd0;
        end
    end

    // ---------------- R: operands and pre-adders ----------------
    function automatic [254:0] pick(input [6:0] r, input [254:0] m, input [254:0] p,
                                    input [254:0] q, input [254:0] c,
                                    input [254:0] ya, input [254:0] yr);
        case (r[6:5])
            B_M: pick = m;
            B_P: pick = p;
            B_Q: pick = q;
            default: pick = (r[4:0] == 5'd30) ? ya : (r[4:0] == 5'd31) ? yr : c;
        endcase
    endfunction

    // (a op b) mod p for a, b < p (op 0 = a, 1 = a + b, 2 = a - b) in two
    // stages, each one carry-select add deep (rtl/wide_add.v): the raw sum
    // or difference, then the correction by p.
    function automatic [254:0] pre_fix(input [1:0] op, input [255:0] raw,
                                       input [255:0] minus_p, input [254:0] plus_p);
        case (op)
            2'd1: pre_fix = minus_p[255] ? raw[254:0] : minus_p[254:0];
            2'd2: pre_fix = raw[255] ? plus_p : raw[254:0];
            default: pre_fix = raw[254:0];
        endcase
    endfunction

    // Control travelling with an instruction past stage R:
    // {ctx, wa_en, wb_en, m_en, wa, wb, md, fop, pa_op, pb_op}.
    localparam integer CTLW = CW + 3 + 15 + 4 + 4;
    wire [CTLW-1:0] r_ctl = {r_ctx, r_wa_en, r_wb_en, r_m_en, r_wa, r_wb, r_md,
                             r_fop, r_pa_op, r_pb_op};
    // Enable and flag-op bits, cleared by reset in every stage.
    localparam [CTLW-1:0] CTL_KILL = ~({{CW{1'b0}}, 3'b111, 15'd0, 4'b1111, 4'd0});

    // Stage O: operands selected from the banks.
    reg [254:0]    o_a, o_b, o_c, o_d;
    reg [CTLW-1:0] o_ctl;
    // Stage S: raw sums / differences.
    reg [255:0]    s_ra, s_rb;
    reg [CTLW-1:0] s_ctl;

    // Raw a + b or a - b (= a + ~b + 1) on both sides.
    wire         sub_a = (o_ctl[3:2] == 2'd2);
    wire         sub_b = (o_ctl[1:0] == 2'd2);
    wire [255:0] raw_a, raw_b;
    wire         unused_co_ra, unused_co_rb;
    wide_add #(.W(256)) add_raw_a (
        .a({1'b0, o_a}), .b(sub_a ? ~{1'b0, o_b} : {1'b0, o_b}), .cin(sub_a),
        .y(raw_a), .cout(unused_co_ra));
    wide_add #(.W(256)) add_raw_b (
        .a({1'b0, o_c}), .b(sub_b ? ~{1'b0, o_d} : {1'b0, o_d}), .cin(sub_b),
        .y(raw_b), .cout(unused_co_rb));

    always @(posedge clk) begin
        o_a   <= pick(r_ra, m_rd0, p_rd0, q_rd0, c_rd0, ya_rd0, yr_rd0);
        o_b   <= pick(r_rb, m_rd1, p_rd1, q_rd1, c_rd1, ya_rd1, yr_rd1);
        o_c   <= pick(r_rc, m_rd2, p_rd2, q_rd2, c_rd2, ya_rd2, yr_rd2);
        o_d   <= pick(r_rd, m_rd3, p_rd3, q_rd3, c_rd3, ya_rd3, yr_rd3);
        o_ctl <= rst ? (r_ctl & CTL_KILL) : r_ctl;
        s_ra  <= (o_ctl[3:2] == 2'd0) ? {1'b0, o_a} : raw_a;
        s_rb  <= (o_ctl[1:0] == 2'd0) ? {1'b0, o_c} : raw_b;
        s_ctl <= rst ? (o_ctl & CTL_KILL) : o_ctl;
    end

    // raw - p and raw + p on both sides (bit 255 of raw + p, the carry out,
    // is never used).
    wire [255:0] a_minus_p, a_plus_p, b_minus_p, b_plus_p;
    wire         unused_co_amp, unused_co_app, unused_co_bmp, unused_co_bpp;
    wire         unused_top = a_plus_p[255] ^ b_plus_p[255];
    wide_add #(.W(256)) add_a_minus_p (
        .a(s_ra), .b(~{1'b0, P}), .cin(1'b1), .y(a_minus_p), .cout(unused_co_amp));
    wide_add #(.W(256)) add_a_plus_p (
        .a(s_ra), .b({1'b0, P}), .cin(1'b0), .y(a_plus_p), .cout(unused_co_app));
    wide_add #(.W(256)) add_b_minus_p (
        .a(s_rb), .b(~{1'b0, P}), .cin(1'b1), .y(b_minus_p), .cout(unused_co_bmp));
    wide_add #(.W(256)) add_b_plus_p (
        .a(s_rb), .b({1'b0, P}), .cin(1'b0), .y(b_plus_p), .cout(unused_co_bpp));

    reg [254:0]  x_pa, x_pb;
    reg [CW-1:0] x_ctx;
    reg          x_wa_en, x_wb_en, x_m_en;
    reg [4:0]    x_wa, x_wb, x_md;
    reg [3:0]    x_fop;

    always @(posedge clk) begin
        x_pa  <= pre_fix(s_ctl[3:2], s_ra, a_minus_p, a_plus_p[254:0]);
        x_pb  <= pre_fix(s_ctl[1:0], s_rb, b_minus_p, b_plus_p[254:0]);
        {x_ctx, x_wa_en, x_wb_en, x_m_en, x_wa, x_wb, x_md, x_fop} <=
            rst ? s_ctl[CTLW-1:4] & CTL_KILL[CTLW-1:4] : s_ctl[CTLW-1:4];
    end

    // ---------------- P: writes, flags, multiplier ----------------
    // The flag update is computed here and written one clock later (the
    // context's next instruction reads it 16 clocks after this one issued).
    wire pa_zero = (x_pa == 255'd0);
    reg  f_new;
    always @(*) begin
        f_new = flag[x_ctx];
        case (x_fop)
            4'd1:  f_new = pa_zero;
            4'd2:  f_new = flag[x_ctx] | pa_zero;
            4'd3:  f_new = x_pa[0] ^ sign_a[x_ctx];
            4'd4:  f_new = flag[x_ctx] & (x_pa[0] == sign_r[x_ctx]) & !r_bad[x_ctx];
            4'd5:  f_new = s_bad[x_ctx];
            4'd6:  f_new = cof[x_ctx];
            4'd7:  f_new = cof[x_ctx] & !amended[x_ctx];
            4'd8:  f_new = amended[x_ctx] & a_bad[x_ctx];
            4'd9:  f_new = amended[x_ctx] & r_bad[x_ctx];
            4'd10: f_new = x_pa[0] ^ sign_r[x_ctx];
            4'd11: f_new = amended[x_ctx];
            default: ;
        endcase
    end

    reg          f_we;
    reg [CW-1:0] f_ctx;
    reg          f_val;
    always @(posedge clk) begin
        f_we  <= !rst && (x_fop != 4'd0);
        f_ctx <= x_ctx;
        f_val <= f_new;
        if (rst) begin
            flag <= {CTX{1'b0}};
        end else begin
            if (f_we) flag[f_ctx] <= f_val;
            if (ld_valid && any_free) flag[free_ctx] <= 1'b0;
        end
    end

    wire         mul_valid;
    wire [254:0] mul_r;
    fe_mul mul (
        .clk       (clk),
        .rst       (rst),
        .in_valid  (x_m_en),
        .a         (x_pa),
        .b         (x_pb),
        .out_valid (mul_valid),
        .r         (mul_r)
    );

    // Destination of each product, in step with the multiplier's pipeline.
    reg [AW-1:0] wb_addr [0:6];
    integer si;
    always @(posedge clk) begin
        wb_addr[0] <= {x_ctx, x_md};
        for (si = 1; si < 7; si = si + 1) wb_addr[si] <= wb_addr[si-1];
    end
    assign mul_busy = x_m_en;

    // ---------------- banks ----------------
    rf_bank #(.AW(AW)) bank_m (
        .clk(clk), .we(mul_valid), .waddr(wb_addr[6]), .wdata(mul_r),
        .raddr0(ra_addr), .raddr1(rb_addr), .raddr2(rc_addr), .raddr3(rd_addr),
        .rdata0(m_rd0), .rdata1(m_rd1), .rdata2(m_rd2), .rdata3(m_rd3));
    rf_bank #(.AW(AW)) bank_p (
        .clk(clk), .we(x_wa_en), .waddr({x_ctx, x_wa}), .wdata(x_pa),
        .raddr0(ra_addr), .raddr1(rb_addr), .raddr2(rc_addr), .raddr3(rd_addr),
        .rdata0(p_rd0), .rdata1(p_rd1), .rdata2(p_rd2), .rdata3(p_rd3));
    rf_bank #(.AW(AW)) bank_q (
        .clk(clk), .we(x_wb_en), .waddr({x_ctx, x_wb}), .wdata(x_pb),
        .raddr0(ra_addr), .raddr1(rb_addr), .raddr2(rc_addr), .raddr3(rd_addr),
        .rdata0(q_rd0), .rdata1(q_rd1), .rdata2(q_rd2), .rdata3(q_rd3));
    rf_bank #(.AW(CW)) bank_ya (
        .clk(clk), .we(ld_valid && any_free), .waddr(free_ctx), .wdata(ld_ya),
        .raddr0(d_ctx), .raddr1(d_ctx), .raddr2(d_ctx), .raddr3(d_ctx),
        .rdata0(ya_rd0), .rdata1(ya_rd1), .rdata2(ya_rd2), .rdata3(ya_rd3));
    rf_bank #(.AW(CW)) bank_yr (
        .clk(clk), .we(ld_valid && any_free), .waddr(free_ctx), .wdata(ld_yr),
        .raddr0(d_ctx), .raddr1(d_ctx), .raddr2(d_ctx), .raddr3(d_ctx),
        .rdata0(yr_rd0), .rdata1(yr_rd1), .rdata2(yr_rd2), .rdata3(yr_rd3));

endmodule
