// Pipelined field multiplier modulo p = 2^255 - 19.
//
// r = a * b mod p, fully reduced (0 <= r < p). Inputs may be any value below
// 2^255 (they need not be reduced below p).
//
// Interface: one operand pair per clock. A pair presented on `a`/`b` with
// `in_valid` is taken on a clock edge; LATENCY (7) edges later `r` holds its
// product and `out_valid` is high for that one cycle. There is no stall and
// no back-pressure: N pairs offered back to back take N + LATENCY - 1 edges
// from the first accept edge until the last result is shown. Reset is
// synchronous, active high, and clears only the valid pipeline.
//
// Limb layout: a and b are split into 15 limbs of 17 bits, limb i = bits
// [17i+16:17i]. Each of the 225 partial products is a 17x17 -> 34-bit
// unsigned multiply (fits one DSP48 / DSP58 / 18x18 DSP block, registered on
// its output).
//
// Pipeline (one register stage each):
//   1. pp[i][j] = a_i * b_j                               (225 x 34 bits)
//   2. c[k] = sum over i + j = k of pp[i][j], k = 0..28   (29 x 38 bits,
//      at most 15 terms per column)
//   3. fold the upper columns with 2^255 = 19 (mod p):
//      d[k] = c[k] + 19 * c[k+15] for k = 0..13, d[14] = c[14]  (15 x 43 bits;
//      19 * c as shifts and adds, so the 225 partial products are the only
//      DSP blocks)
//   4. s = sum d[k] * 2^(17k); the limbs are packed into three non-overlapping
//      vectors (k mod 3 = 0, 1, 2: 51-bit spacing > 43-bit limbs), so this is
//      a three-operand add (a carry-save step, then a carry-select add).
//      s < 2^277.
//   5. t = s[254:0] + 19 * s[281:255]                     (t < 2^255 + 2^32)
//   6. u = t[254:0] + 19 * t[255]                         (u < 2^255 + 19)
//   7. r = u >= p ? u - p : u, computed as w = u + 19; r = w[255] ? w[254:0]
//      : u[254:0]                                          (0 <= r < p)
//
// Every wide addition is a carry-select adder (rtl/wide_add.v), so no carry
// chain is longer than about a quarter of its width.

module fe_mul (
    input  wire         clk,
    input  wire         rst,
    input  wire         in_valid,
    input  wire [254:0] a,
    input  wire [254:0] b,
    output reg          out_valid,
    output reg  [254:0] r
);

    localparam integer LIMBS = 15;
    localparam integer LW    = 17;   // limb width
    localparam integer PW    = 34;   // partial product width
    localparam integer CW    = 38;   // column sum width (15 * 2^34 < 2^38)
    localparam integer DW    = 43;   // folded column width (20 * 2^38 < 2^43)
    localparam integer SW    = 282;  // width of s (s < 2^277)

    // Valid pipeline: stage n holds the valid bit for pipeline register n.
    reg [5:0] valid_q;

    // Stage 1: partial products, flattened: pair (i, j) at index 15*i + j.
    reg [PW*LIMBS*LIMBS-1:0] pp_q;

    // Stage 2: column sums c[0..28].
    reg [CW*(2*LIMBS-1)-1:0] c_q;

    // Stage 3: folded columns d[0..14].
    reg [DW*LIMBS-1:0] d_q;

    // Stage 4..6.
    reg [SW-1:0]  s_q;
    reg [255:0]   t_q;
    reg [255:0]   u_q;

    genvar gi, gj, gk;

    // Stage 1: 17x17 multiplies.
    generate
        for (gi = 0; gi < LIMBS; gi = gi + 1) begin : g_mul_row
            for (gj = 0; gj < LIMBS; gj = gj + 1) begin : g_mul_col
                always @(posedge clk) begin
                    pp_q[PW*(LIMBS*gi+gj) +: PW] <=
                        {{(PW-LW){1'b0}}, a[LW*gi +: LW]} *
                        {{(PW-LW){1'b0}}, b[LW*gj +: LW]};
                end
            end
        end
    endgenerate

    // Stage 2: column sums. Column k collects pp[i][k-i] for
    // max(0, k-14) <= i <= min(k, 14).
    generate
        for (gk = 0; gk < 2*LIMBS-1; gk = gk + 1) begin : g_col
            localparam integer LO = (gk > LIMBS-1) ? gk - (LIMBS-1) : 0;
            localparam integer HI = (gk < LIMBS-1) ? gk : LIMBS-1;
            wire [CW-1:0] terms [LO:HI];
            for (gi = LO; gi <= HI; gi = gi + 1) begin : g_term
                assign terms[gi] = {{(CW-PW){1'b0}},
                                    pp_q[PW*(LIMBS*gi+(gk-gi)) +: PW]};
            end
            reg [CW-1:0] sum;
            integer n;
            always @(*) begin
                sum = {CW{1'b0}};
                for (n = LO; n <= HI; n = n + 1) begin
                    sum = sum + terms[n];
                end
            end
            always @(posedge clk) begin
                c_q[CW*gk +: CW] <= sum;
            end
        end
    endgenerate

    // Stage 3: fold columns 15..28 onto 0..13 (2^(17*15) = 2^255 = 19).
    generate
        for (gk = 0; gk < LIMBS; gk = gk + 1) begin : g_fold
            if (gk < LIMBS-1) begin : g_hi
                wire [DW-1:0] lo_col = {{(DW-CW){1'b0}}, c_q[CW*gk +: CW]};
                wire [DW-1:0] hi_col = {{(DW-CW){1'b0}}, c_q[CW*(gk+LIMBS) +: CW]};
                // 19 * hi = 16 hi + 2 hi + hi: shifts and adds, no DSP.
                always @(posedge clk) begin
                    d_q[DW*gk +: DW] <= lo_col + (hi_col << 4) + (hi_col << 1) + hi_col;
                end
            end else begin : g_top
                always @(posedge clk) begin
                    d_q[DW*gk +: DW] <= {{(DW-CW){1'b0}}, c_q[CW*gk +: CW]};
                end
            end
        end
    endgenerate

    // Stage 4: carry-resolve the 15 overlapping 43-bit limbs as a
    // three-operand add of non-overlapping packings.
    reg [SW-1:0] v0, v1, v2;
    integer m;
    always @(*) begin
        v0 = {SW{1'b0}};
        v1 = {SW{1'b0}};
        v2 = {SW{1'b0}};
        for (m = 0; m < LIMBS; m = m + 3) begin
            v0[LW*m     +: DW] = d_q[DW*m     +: DW];
            v1[LW*(m+1) +: DW] = d_q[DW*(m+1) +: DW];
            v2[LW*(m+2) +: DW] = d_q[DW*(m+2) +: DW];
        end
    end

    // Stage 4's three-operand sum as a carry-save step and one
    // carry-select add.
    wire [SW-1:0] cs_sum   = v0 ^ v1 ^ v2;
    wire [SW-1:0] cs_carry = {(v0[SW-2:0] & v1[SW-2:0]) | (v0[SW-2:0] & v2[SW-2:0])
                              | (v1[SW-2:0] & v2[SW-2:0]), 1'b0};
    wire [SW-1:0] s_next;
    /* verilator lint_off UNUSEDSIGNAL */
    wire          s_cout, t_cout, u_cout, w_cout;
    /* verilator lint_on UNUSEDSIGNAL */
    wide_add #(.W(SW)) add_s (.a(cs_sum), .b(cs_carry), .cin(1'b0), .y(s_next), .cout(s_cout));

    // Stages 5..7: fold bits 255 and up back in, then subtract p at most once.
    wire [31:0]  hi = {{(32-(SW-255)){1'b0}}, s_q[SW-1:255]};
    wire [31:0]  hi19 = (hi << 4) + (hi << 1) + hi;   // 19 * s[281:255]
    wire [255:0] t_next, u_next, w;
    wide_add #(.W(256)) add_t (.a({1'b0, s_q[254:0]}), .b({224'd0, hi19}), .cin(1'b0),
                               .y(t_next), .cout(t_cout));
    wide_add #(.W(256)) add_u (.a({1'b0, t_q[254:0]}), .b(t_q[255] ? 256'd19 : 256'd0),
                               .cin(1'b0), .y(u_next), .cout(u_cout));
    wide_add #(.W(256)) add_w (.a(u_q), .b(256'd19), .cin(1'b0), .y(w), .cout(w_cout));

    always @(posedge clk) begin
        s_q <= s_next;
        t_q <= t_next;
        u_q <= u_next;
        r   <= w[255] ? w[254:0] : u_q[254:0];
    end

    always @(posedge clk) begin
        if (rst) begin
            valid_q   <= 6'd0;
            out_valid <= 1'b0;
        end else begin
            valid_q   <= {valid_q[4:0], in_valid};
            out_valid <= valid_q[5];
        end
    end

endmodule
