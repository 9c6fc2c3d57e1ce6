// Carry-select adder: y = a + b + cin over W bits in SEG segments. Every
// segment above the first is added twice, for a carry in of 0 and of 1, side
// by side; the carries then pick one sum per segment through a chain of
// SEG - 1 multiplexers. The longest carry chain is about W / SEG bits.
module wide_add #(
    parameter integer W   = 256,
    parameter integer SEG = 4
) (
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    input  wire         cin,
    output wire [W-1:0] y,
    output wire         cout
);
    localparam integer S = (W + SEG - 1) / SEG;   // segment width (last may be shorter)

    wire [SEG:0] c /* verilator split_var */;
    assign c[0] = cin;
    assign cout = c[SEG];

    genvar g;
    generate
        for (g = 0; g < SEG; g = g + 1) begin : g_seg
            localparam integer LO = g * S;
            localparam integer N  = (LO + S <= W) ? S : W - LO;
            if (g == 0) begin : g_first
                wire [N:0] sum = {1'b0, a[LO +: N]} + {1'b0, b[LO +: N]} + {{N{1'b0}}, cin};
                assign y[LO +: N] = sum[N-1:0];
                assign c[g+1]     = sum[N];
            end else begin : g_sel
                (* keep *) wire [N:0] sum0 = {1'b0, a[LO +: N]} + {1'b0, b[LO +: N]};
                (* keep *) wire [N:0] sum1 = {1'b0, a[LO +: N]} + {1'b0, b[LO +: N]} + {{N{1'b0}}, 1'b1};
                wire [N:0] sum = c[g] ? sum1 : sum0;
                assign y[LO +: N] = sum[N-1:0];
                assign c[g+1]     = sum[N];
            end
        end
    endgenerate
endmodule
